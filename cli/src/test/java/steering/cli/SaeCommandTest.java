package steering.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class SaeCommandTest {
    @Test
    void steerSaeHandsItsArgumentsToSaeCliInOrder() {
        List<String> args = List.of("train", "--hook", "blocks.1.hook_resid_post", "--dataset", "a", "--dataset", "b", "--overwrite", "--k", "8");
        CommandLine steer = new CommandLine(new Steer());
        CommandLine.ParseResult parsed = steer.parseArgs(concat("sae", args));
        SaeCommand sae = (SaeCommand) parsed.subcommand().commandSpec().userObject();
        assertEquals(args, sae.args);
    }

    @Test
    void anUnknownCommandExitsWithTwo() throws Exception {
        assertEquals(2, SaeCli.run(new String[]{"frobnicate"}));
        assertEquals(2, SaeCli.run(new String[0]));
    }

    private static String[] concat(String first, List<String> rest) {
        String[] out = new String[rest.size() + 1];
        out[0] = first;
        for (int i = 0; i < rest.size(); i++) out[i + 1] = rest.get(i);
        return out;
    }
}
