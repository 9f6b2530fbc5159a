package steering.sae.encode;

import steering.common.grpc.Errors;
import steering.common.tensor.TensorCodec;
import steering.sae.core.Sae;
import steering.sae.core.SparseRows;
import steering.sae.store.SaeStore;
import steering.sae.training.TrainSaeJob;
import steering.v1.EncodeRequest;
import steering.v1.EncodeResponse;
import steering.v1.EncodedText;
import steering.v1.FeatureReduction;
import steering.v1.ReconstructRequest;
import steering.v1.ReconstructResponse;
import steering.v1.SparseFeatures;

import java.util.List;

/**
 * An input's rows through the SAE: Encode (features, reduced per text if asked, answered dense or as each row's top
 * k) and Reconstruct ({@code decode(encode(x))} with the figures training reports).
 */
public final class FeatureEncoder {
    private final SaeInputReader inputs;

    public FeatureEncoder(SaeInputReader inputs) {
        this.inputs = inputs;
    }

    public EncodeResponse encode(EncodeRequest request, SaeStore.Lease lease) {
        Sae sae = lease.sae();
        int m = sae.dSae();
        if (request.getTopK() < 0 || request.getTopK() > m) throw Errors.invalid("top_k", request.getTopK() + " is outside [0, " + m + "] (0 = dense)");
        if (request.getReduction() == FeatureReduction.UNRECOGNIZED) throw Errors.invalid("reduction", "unknown reduction value");
        InputRows in = inputs.read(request.getInput(), "input", lease);
        float[] f = sae.encode(in.data(), in.rows());
        int outRows = in.rows();
        List<EncodedText> texts = in.texts();
        FeatureReduction red = request.getReduction();
        if (red == FeatureReduction.FEATURE_REDUCTION_MEAN || red == FeatureReduction.FEATURE_REDUCTION_MAX) {
            f = PerTextReduction.reduce(f, m, in.groups(), red == FeatureReduction.FEATURE_REDUCTION_MAX);
            outRows = in.groups().size();
            texts = PerTextReduction.oneRowEach(texts);
        }
        EncodeResponse.Builder b = EncodeResponse.newBuilder().setRows(outRows).addAllTexts(texts);
        if (request.getTopK() == 0) {
            if (ResponseSize.exceeded(outRows, m)) {
                throw Errors.invalid("top_k", "a dense result of " + outRows + " x " + m + " features exceeds "
                        + ResponseSize.limit() + "; ask for top_k > 0, a MEAN/MAX reduction, or fewer rows");
            }
            b.setFeatures(TensorCodec.ofFloats(f, outRows, m));
        } else {
            b.setSparse(sparse(SparseRows.fromDense(f, outRows, m, request.getTopK())));
        }
        return b.build();
    }

    public ReconstructResponse reconstruct(ReconstructRequest request, SaeStore.Lease lease) {
        Sae sae = lease.sae();
        InputRows in = inputs.read(request.getInput(), "input", lease);
        int d = sae.dIn();
        double[] fig = TrainSaeJob.reconstructionFigures(sae, in.data(), in.rows(), d);
        Sae.Reconstruction rec = sae.reconstruct(in.data(), in.rows());
        ReconstructResponse.Builder b = ReconstructResponse.newBuilder().setVarianceExplained(in.rows() > 1 ? fig[0] : Double.NaN)
                .setMse(fig[1]).setL0(fig[2]).setMeanCosine(meanCosine(in.data(), rec.reconstruction(), in.rows(), d))
                .setRows(in.rows());
        if (request.getReturnReconstruction()) b.setReconstruction(TensorCodec.ofFloats(rec.reconstruction(), in.rows(), d));
        return b.build();
    }

    /** The mean over rows of cos(x, y), a zero row counting 0. */
    static double meanCosine(float[] x, float[] y, int rows, int d) {
        double cos = 0;
        for (int r = 0; r < rows; r++) {
            double dot = 0, a = 0, b = 0;
            for (int i = 0; i < d; i++) {
                double xi = x[r * d + i], yi = y[r * d + i];
                dot += xi * yi;
                a += xi * xi;
                b += yi * yi;
            }
            cos += a > 0 && b > 0 ? dot / Math.sqrt(a * b) : 0;
        }
        return cos / rows;
    }

    static SparseFeatures sparse(SparseRows s) {
        SparseFeatures.Builder b = SparseFeatures.newBuilder();
        for (int o : s.offsets()) b.addOffsets(o);
        for (int i : s.indices()) b.addIndices(i);
        for (float v : s.values()) b.addValues(v);
        return b.build();
    }
}
