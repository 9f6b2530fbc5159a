package steering.model.tokenizer;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Renders a conversation the way the model was trained to read it. Like llama.cpp, the model's Jinja template is not
 * executed: its family is recognised from marker strings and rendered by Java code that produces the same text for
 * the common cases (ChatML incl. a default system prompt, Llama 3, Gemma, Llama 2 / Mistral [INST]).
 */
public final class ChatTemplate {
    public record Message(String role, String content) {}

    public enum Family { CHATML, LLAMA3, GEMMA, INST }

    private static final Pattern CHATML_DEFAULT_SYSTEM =
            Pattern.compile("<\\|im_start\\|>system\\n(.*?)<\\|im_end\\|>", Pattern.DOTALL);

    private final Family family;
    private final String defaultSystemPrompt;
    private final String bosText;

    private ChatTemplate(Family family, String defaultSystemPrompt, String bosText) {
        this.family = family;
        this.defaultSystemPrompt = defaultSystemPrompt;
        this.bosText = bosText;
    }

    /** Recognises a Jinja chat template; null when the model has none or its family is unknown. */
    public static ChatTemplate detect(String jinja, String bosText) {
        if (jinja == null || jinja.isBlank()) return null;
        if (jinja.contains("<|im_start|>")) {
            String system = null;
            // a literal system turn inside the template is the default used when the conversation has none
            Matcher m = CHATML_DEFAULT_SYSTEM.matcher(jinja);
            if (m.find() && !m.group(1).contains("{{") && !m.group(1).contains("'")) system = m.group(1);
            return new ChatTemplate(Family.CHATML, system, bosText);
        }
        if (jinja.contains("<|start_header_id|>")) return new ChatTemplate(Family.LLAMA3, null, bosText);
        if (jinja.contains("<start_of_turn>")) return new ChatTemplate(Family.GEMMA, null, bosText);
        if (jinja.contains("[INST]")) return new ChatTemplate(Family.INST, null, bosText);
        return null;
    }

    /** Gemma's turn format, for models whose file carries no template but whose family implies it. */
    public static ChatTemplate gemma(String bosText) {
        return new ChatTemplate(Family.GEMMA, null, bosText);
    }

    public Family family() {
        return family;
    }

    public String render(List<Message> messages, boolean addGenerationPrompt) {
        StringBuilder out = new StringBuilder();
        switch (family) {
            case CHATML -> {
                if (defaultSystemPrompt != null && (messages.isEmpty() || !messages.get(0).role().equals("system"))) {
                    out.append("<|im_start|>system\n").append(defaultSystemPrompt).append("<|im_end|>\n");
                }
                for (Message m : messages) {
                    out.append("<|im_start|>").append(m.role()).append('\n').append(m.content()).append("<|im_end|>\n");
                }
                if (addGenerationPrompt) out.append("<|im_start|>assistant\n");
            }
            case LLAMA3 -> {
                out.append(bosText);
                for (Message m : messages) {
                    out.append("<|start_header_id|>").append(m.role()).append("<|end_header_id|>\n\n")
                            .append(m.content().strip()).append("<|eot_id|>");
                }
                if (addGenerationPrompt) out.append("<|start_header_id|>assistant<|end_header_id|>\n\n");
            }
            case GEMMA -> {
                out.append(bosText);
                String pendingSystem = "";
                for (Message m : messages) {
                    if (m.role().equals("system")) {
                        // as Gemma's template: the system text, untrimmed, opens the first user turn
                        pendingSystem = m.content() + "\n\n";
                        continue;
                    }
                    String role = m.role().equals("assistant") ? "model" : m.role();
                    out.append("<start_of_turn>").append(role).append('\n')
                            .append(pendingSystem).append(m.content().strip()).append("<end_of_turn>\n");
                    pendingSystem = "";
                }
                if (addGenerationPrompt) out.append("<start_of_turn>model\n");
            }
            case INST -> {
                out.append(bosText);
                String system = "";
                for (Message m : messages) {
                    switch (m.role()) {
                        case "system" -> system = "<<SYS>>\n" + m.content().strip() + "\n<</SYS>>\n\n";
                        case "user" -> {
                            out.append("[INST] ").append(system).append(m.content().strip()).append(" [/INST]");
                            system = "";
                        }
                        default -> out.append(' ').append(m.content().strip()).append(' ');
                    }
                }
            }
        }
        return out.toString();
    }
}
