package steering.gateway.eval;

import steering.common.grpc.Errors;
import steering.v1.ChatMessage;
import steering.v1.ChatMessages;
import steering.v1.EvaluatedConfig;
import steering.v1.Prompt;
import steering.v1.PromptingBaseline;

/**
 * The prompting baseline of an evaluation: the behaviour asked for in the prompt instead of steered into the
 * residual stream (AxBench's strongest non-trained baseline). Only the generation prompt changes; coherence is
 * scored after the request's own prompt, as for the steered samples.
 */
final class Prompting {
    static final int MAX_CHARS = 4096;

    private Prompting() {}

    static void check(EvaluatedConfig config, String field, Prompt prompt) {
        PromptingBaseline p = config.getPrompting();
        if (config.getSteeringCount() > 0) {
            throw Errors.invalid(field + ".steering", "a prompting baseline is not steered: leave steering empty");
        }
        for (int s = 0; s < config.getScalesCount(); s++) {
            if (config.getScales(s) != 0) {
                throw Errors.invalid(field + ".scales[" + s + "]", "a prompting baseline has one point at scale 0; got " + config.getScales(s));
            }
        }
        if (p.getSystemMessage().isBlank() && p.getInstruction().isBlank()) {
            throw Errors.invalid(field + ".prompting", "set system_message or instruction (or both)");
        }
        if (p.getSystemMessage().length() > MAX_CHARS) {
            throw Errors.invalid(field + ".prompting.system_message", p.getSystemMessage().length() + " characters is over " + MAX_CHARS);
        }
        if (p.getInstruction().length() > MAX_CHARS) {
            throw Errors.invalid(field + ".prompting.instruction", p.getInstruction().length() + " characters is over " + MAX_CHARS);
        }
        if (prompt != null && prompt.getKindCase() == Prompt.KindCase.TOKENS) {
            throw Errors.invalid(field + ".prompting", "a prompting baseline needs a text or chat prompt, not token ids");
        }
    }

    /** The prompt with the baseline's instruction and system message in it. */
    static Prompt apply(Prompt prompt, PromptingBaseline p) {
        String instruction = p.getInstruction().isBlank() ? "" : p.getInstruction() + "\n\n";
        ChatMessages chat;
        if (prompt.getKindCase() == Prompt.KindCase.CHAT) {
            ChatMessages.Builder b = prompt.getChat().toBuilder();
            if (!instruction.isEmpty()) {
                for (int i = 0; i < b.getMessagesCount(); i++) {
                    if (b.getMessages(i).getRole().equals("user")) {
                        b.setMessages(i, b.getMessages(i).toBuilder().setContent(instruction + b.getMessages(i).getContent()));
                        break;
                    }
                }
            }
            chat = b.build();
        } else {
            String text = instruction + prompt.getText();
            if (p.getSystemMessage().isBlank()) return prompt.toBuilder().setText(text).build();
            chat = ChatMessages.newBuilder().addMessages(ChatMessage.newBuilder().setRole("user").setContent(text)).build();
        }
        if (!p.getSystemMessage().isBlank()) {
            ChatMessages.Builder b = ChatMessages.newBuilder(chat).clearMessages()
                    .addMessages(ChatMessage.newBuilder().setRole("system").setContent(p.getSystemMessage()));
            b.addAllMessages(chat.getMessagesList());
            chat = b.build();
        }
        return Prompt.newBuilder().setChat(chat).build();
    }
}
