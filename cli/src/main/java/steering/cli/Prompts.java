package steering.cli;

import picocli.CommandLine;
import steering.v1.*;


final class Prompts {
    static Prompt of(String text, boolean chat) {
        if (!chat) return Prompt.newBuilder().setText(text).build();
        return Prompt.newBuilder().setChat(ChatMessages.newBuilder()
                .addMessages(ChatMessage.newBuilder().setRole("user").setContent(text))).build();
    }
}
