package steering.model.engine;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;
import steering.model.TestModels;
import steering.model.loader.LoadedModel;
import steering.model.loader.ModelLoader;
import steering.model.runtime.ForwardStep;
import steering.common.steer.HookPoint;

import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A CAST condition on SmolLM2 on a small labelled set: the direction is mean(cooking prompts) - mean(other prompts)
 * at blocks.10.hook_resid_pre from six of each, the threshold the midpoint of their cosines; the condition must hold
 * for held-out prompts about cooking and not for the others.
 */
class ConditionAccuracyTest {
    static final HookPoint HOOK = new HookPoint(10, HookPoint.Site.PRE);
    static final List<String> COOKING = List.of("How long should I boil pasta?", "What spices go well with roast chicken?",
            "Give me a recipe for tomato soup.", "How do I knead bread dough?", "What is the best way to fry an egg?",
            "Can I bake a cake without butter?");
    static final List<String> OTHER = List.of("How do I change a car tyre?", "What is the capital of Australia?",
            "Explain how a transistor works.", "Who wrote Pride and Prejudice?", "How can I improve my running pace?",
            "What causes the seasons on Earth?");
    static final List<String> COOKING_TEST = List.of("How do I make pancakes from scratch?", "What temperature should I roast vegetables at?",
            "Suggest a quick dinner with rice and beans.", "How do I caramelize onions?", "What can I cook with leftover potatoes?",
            "How much salt goes in bread?");
    static final List<String> OTHER_TEST = List.of("How do I fix a flat bicycle tyre?", "What is the tallest mountain in Europe?",
            "Explain how vaccines work.", "Who painted the Mona Lisa?", "How do I learn to play chess?",
            "Why is the sky blue?");

    @Test
    void theConditionHoldsForCookingPromptsAndNotForOthers() throws Exception {
        try (NDManager manager = NDManager.newBaseManager();
             LoadedModel model = ModelLoader.load(TestModels.smollm2(), manager, 512)) {
            int d = model.config().dModel();
            double[] topic = mean(model, COOKING, d);
            double[] other = mean(model, OTHER, d);
            float[] direction = new float[d];
            for (int j = 0; j < d; j++) direction[j] = (float) (topic[j] - other[j]);
            Conditional probe = new Conditional(0, null, HOOK, direction, 0, true);
            double cTopic = 0, cOther = 0;
            for (String p : COOKING) cTopic += probe.decide(sum(model, p, d)).cosine() / COOKING.size();
            for (String p : OTHER) cOther += probe.decide(sum(model, p, d)).cosine() / OTHER.size();
            Conditional condition = new Conditional(0, null, HOOK, direction, (cTopic + cOther) / 2, true);
            int right = 0;
            for (String p : COOKING_TEST) if (condition.decide(sum(model, p, d)).met()) right++;
            for (String p : OTHER_TEST) if (!condition.decide(sum(model, p, d)).met()) right++;
            double accuracy = right / (double) (COOKING_TEST.size() + OTHER_TEST.size());
            System.out.printf("CAST condition on SmolLM2 (blocks.10.hook_resid_pre, threshold %.3f): held-out accuracy %.3f (%d/%d)%n",
                    condition.threshold(), accuracy, right, COOKING_TEST.size() + OTHER_TEST.size());
            assertTrue(accuracy >= 0.75, "held-out accuracy " + accuracy);
        }
    }

    private static double[] mean(LoadedModel model, List<String> prompts, int d) {
        double[] out = new double[d];
        for (String p : prompts) {
            double[] s = sum(model, p, d);
            double n = Math.sqrt(dot(s, s));
            for (int j = 0; j < d; j++) out[j] += s[j] / n / prompts.size(); // unit mean residual per prompt
        }
        return out;
    }

    /** The sum of the prompt's residuals at the hook, as the engine gathers it for a condition. */
    private static double[] sum(LoadedModel model, String prompt, int d) {
        int[] ids = model.tokenizer().encode(model.chatTemplate().render(
                List.of(new steering.model.tokenizer.ChatTemplate.Message("user", prompt)), true), false);
        float[] rows = model.transformer().forward(List.of(new ForwardStep(ids, 0, -1, List.of(), ids.length, Set.of(HOOK))), null)
                .get(0).captured().get(HOOK);
        double[] s = new double[d];
        for (int k = 0; k < rows.length; k++) s[k % d] += rows[k];
        return s;
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int j = 0; j < a.length; j++) s += a[j] * b[j];
        return s;
    }
}
