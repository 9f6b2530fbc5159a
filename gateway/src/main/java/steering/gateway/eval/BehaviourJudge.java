package steering.gateway.eval;

import java.util.List;

/** Scores how well each sample shows the behaviour a criterion describes, in [0, 1]. */
public interface BehaviourJudge {
    double[] score(List<String> samples, String criterion);

    String name();
}
