package steering.model.grpc;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import steering.model.TestModels;
import steering.v1.GenerateRequest;
import steering.v1.GenerateResponse;
import steering.v1.PositionPolicy;
import steering.v1.ScoreRequest;
import steering.v1.ScoreResponse;
import steering.v1.TokenIds;
import steering.v1.TokenLogprob;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;
import static steering.model.grpc.Wire.*;

/** Generate's per-token log-probs: the chosen token's, the alternatives', consistent with Score, steered or not. */
class LogprobsGrpcTest {
    static LoopbackModelService svc;

    @BeforeAll
    static void start() throws Exception {
        svc = new LoopbackModelService(TestModels.stories260k(), 4, 512);
    }

    @AfterAll
    static void stop() throws Exception {
        svc.close();
    }

    static List<TokenLogprob> generate(GenerateRequest request) {
        List<TokenLogprob> out = new ArrayList<>();
        Iterator<GenerateResponse> it = svc.blocking().generate(request);
        while (it.hasNext()) {
            GenerateResponse r = it.next();
            if (request.getSampling().getLogprobs()) {
                assertEquals(r.getTokenIdsCount(), r.getLogprobsCount(), "one log-prob per token");
            }
            out.addAll(r.getLogprobsList());
        }
        return out;
    }

    @Test
    void greedyTokensAreTheirStepsTopAlternativeAndMatchScore() {
        float[] v = new float[64];
        for (int i = 0; i < v.length; i++) v[i] = (float) Math.sin(i);
        for (boolean steered : new boolean[]{false, true}) {
            GenerateRequest.Builder req = GenerateRequest.newBuilder().setPrompt(text("Once upon a time"))
                    .setSampling(greedy(12).toBuilder().setIgnoreEos(true).setLogprobs(true).setTopLogprobs(5));
            if (steered) req.addInterventions(intervention("blocks.2.hook_resid_post", v, 4.0, PositionPolicy.ALL));
            List<TokenLogprob> lps = generate(req.build());
            assertEquals(12, lps.size());
            List<Integer> ids = new ArrayList<>();
            for (TokenLogprob lp : lps) {
                assertEquals(5, lp.getTopCount());
                assertEquals(lp.getTokenId(), lp.getTop(0).getTokenId(), "greedy picks the most likely token");
                assertEquals(lp.getLogprob(), lp.getTop(0).getLogprob(), 1e-6);
                for (int k = 1; k < 5; k++) assertTrue(lp.getTop(k - 1).getLogprob() >= lp.getTop(k).getLogprob());
                assertTrue(lp.getLogprob() <= 0);
                assertFalse(lp.getToken().isEmpty());
                ids.add(lp.getTokenId());
            }
            // Score of the same continuation (same interventions) gives the same per-token log-probs
            ScoreRequest.Builder score = ScoreRequest.newBuilder().setPrompt(text("Once upon a time"))
                    .setContinuationTokens(TokenIds.newBuilder().addAllIds(ids));
            if (steered) score.addInterventions(req.getInterventions(0));
            ScoreResponse s = svc.blocking().score(score.build());
            for (int i = 0; i < ids.size(); i++) assertEquals(s.getLogprobs(i), lps.get(i).getLogprob(), 1e-3, "token " + i);
        }
    }

    @Test
    void withoutLogprobsNoneAreSentAndBadCountsAreRefused() {
        assertTrue(generate(GenerateRequest.newBuilder().setPrompt(text("Once")).setSampling(greedy(3)).build()).isEmpty());
        for (var sampling : List.of(greedy(3).toBuilder().setLogprobs(true).setTopLogprobs(21),
                greedy(3).toBuilder().setTopLogprobs(2))) {
            var e = assertThrows(StatusRuntimeException.class,
                    () -> generate(GenerateRequest.newBuilder().setPrompt(text("Once")).setSampling(sampling).build()));
            assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
            assertTrue(e.getStatus().getDescription().startsWith("sampling.top_logprobs"), e.getStatus().getDescription());
        }
    }
}
