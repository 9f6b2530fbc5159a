package steering.sae.encode;

import steering.common.grpc.Errors;
import steering.common.tensor.TensorCodec;
import steering.sae.core.Sae;
import steering.v1.DecodeRequest;
import steering.v1.DecodeResponse;
import steering.v1.SparseFeatures;

/** Decode: dense {@code [n, d_sae]} or sparse rows of features, checked, through the SAE's decoder. */
public final class FeatureDecoder {
    private final int maxRows;

    /** @param maxRows the most rows one request may decode */
    public FeatureDecoder(int maxRows) {
        this.maxRows = maxRows;
    }

    public DecodeResponse decode(DecodeRequest request, Sae sae) {
        DenseRows f = features(request, sae.dSae());
        float[] y = sae.decode(f.data(), f.rows());
        return DecodeResponse.newBuilder().setReconstruction(TensorCodec.ofFloats(y, f.rows(), sae.dIn())).build();
    }

    /** The request's features as dense rows of width {@code m}, within the row limit. */
    DenseRows features(DecodeRequest request, int m) {
        DenseRows f = switch (request.getFeaturesCase()) {
            case DENSE -> {
                DenseRows x = TensorRows.read(request.getDense(), m, "the SAE's d_sae", "dense");
                TensorRows.checkFinite(x.data(), "dense");
                yield x;
            }
            case SPARSE -> densify(request.getSparse(), m);
            default -> throw Errors.invalid("features", "set dense or sparse");
        };
        if (f.rows() > maxRows) throw Errors.invalid("features", f.rows() + " rows is outside [1, " + maxRows + "]");
        return f;
    }

    private static DenseRows densify(SparseFeatures s, int m) {
        int rows = checkSparse(s, m);
        float[] f = new float[Math.multiplyExact(rows, m)];
        for (int r = 0; r < rows; r++) {
            for (int i = s.getOffsets(r); i < s.getOffsets(r + 1); i++) f[r * m + s.getIndices(i)] += s.getValues(i);
        }
        return new DenseRows(f, rows);
    }

    /** The sparse rows' count, once offsets, indices and values are consistent and every index is below {@code m}. */
    private static int checkSparse(SparseFeatures s, int m) {
        if (s.getOffsetsCount() < 2) throw Errors.invalid("sparse.offsets", "needs rows + 1 >= 2 entries, starting at 0");
        if (s.getOffsets(0) != 0) throw Errors.invalid("sparse.offsets[0]", s.getOffsets(0) + " must be 0");
        if (s.getIndicesCount() != s.getValuesCount()) {
            throw Errors.invalid("sparse.values", s.getValuesCount() + " values for " + s.getIndicesCount() + " indices; they must match");
        }
        for (int r = 1; r < s.getOffsetsCount(); r++) {
            if (s.getOffsets(r) < s.getOffsets(r - 1) || s.getOffsets(r) > s.getIndicesCount()) {
                throw Errors.invalid("sparse.offsets[" + r + "]", s.getOffsets(r) + " is outside [" + s.getOffsets(r - 1) + ", " + s.getIndicesCount() + "]");
            }
        }
        if (s.getOffsets(s.getOffsetsCount() - 1) != s.getIndicesCount()) {
            throw Errors.invalid("sparse.offsets", "the last offset must equal the number of indices (" + s.getIndicesCount() + ")");
        }
        for (int i = 0; i < s.getIndicesCount(); i++) {
            if (s.getIndices(i) < 0 || s.getIndices(i) >= m) throw Errors.invalid("sparse.indices[" + i + "]", s.getIndices(i) + " is outside [0, " + (m - 1) + "]");
            if (!Float.isFinite(s.getValues(i))) throw Errors.invalid("sparse.values[" + i + "]", s.getValues(i) + " must be finite");
        }
        return s.getOffsetsCount() - 1;
    }
}
