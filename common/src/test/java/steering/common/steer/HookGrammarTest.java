package steering.common.steer;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The mesh's one hook-name grammar and [d] | [n, d] rule. */
class HookGrammarTest {

    @Test
    void hookNamesParseExactly() {
        assertEquals(new HookPoint(3, HookPoint.Site.MID), HookPoint.parse("blocks.3.hook_resid_mid"));
        assertEquals("blocks.3.hook_resid_post", HookPoint.parse("blocks.3.hook_resid_post", 4).name());
        assertTrue(HookPoint.isName("blocks.0.hook_resid_pre"));
        for (String bad : new String[] {" blocks.0.hook_resid_pre", "blocks.0.hook_resid_pre\0", "blocks.x.hook_resid_pre",
                "blocks.0.hook_attn_out", "", null}) {
            assertFalse(HookPoint.isName(bad), bad);
            assertThrows(IllegalArgumentException.class, () -> HookPoint.parse(bad));
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HookPoint.parse("blocks.4.hook_resid_pre", 4));
        assertTrue(e.getMessage().contains("out of range [0, 3]"), e.getMessage());
        assertEquals(12, HookPoint.allNames(4).size());
        assertEquals(HookPoint.allNames(4).indexOf("blocks.2.hook_resid_mid"), HookPoint.parse("blocks.2.hook_resid_mid").ordinal());
    }

    @Test
    void shapesAreOneRowOrSeveral() {
        assertEquals(1, VectorShape.rows(List.of(8L), 8, "d_model"));
        assertEquals(3, VectorShape.rows(List.of(3L, 8L), 8, "d_model", 4));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> VectorShape.rows(List.of(5L, 8L), 8, "d_model", 4));
        assertEquals("shape [5, 8] does not fit d_model 8: expected [8] or [n, 8] with n in [1, 4]", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> VectorShape.rows(List.of(7L), 8, "the SAE's d_in"));
        assertEquals("shape [7] does not fit the SAE's d_in 8: expected [8] or [n, 8]", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> VectorShape.rows(List.of(0L, 8L), 8, "d_model"));
        assertThrows(IllegalArgumentException.class, () -> VectorShape.requireOneRowUnlessPromptFront(List.of(2L, 8L), 2, false, 8));
        VectorShape.requireOneRowUnlessPromptFront(List.of(2L, 8L), 2, true, 8);
    }
}
