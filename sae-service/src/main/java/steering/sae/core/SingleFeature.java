package steering.sae.core;

import steering.common.tensor.TensorCodec;
import steering.v1.SaeFeature;

/**
 * One feature of an SAE as an affine map of the residual plus its activation, the form SAE_FEATURE interventions
 * take: f = act(e.(x - b_dec) + b_enc[j]) and one unit of f adding d to the reconstruction. TopK keeps its top-k
 * selection out (one feature alone is ReLU'd); a decoder scale goes into d, and TopK's rescaling by the decoder
 * norm (it encodes pre * |W_dec row| and decodes f / |W_dec row|) into e, b_enc and d.
 */
public final class SingleFeature {
    private SingleFeature() {}

    /** @throws IllegalArgumentException for SAEs whose input normalisation depends on the row (not affine in x) */
    public static SaeFeature of(String saeId, Sae sae, int feature) {
        SaeConfig cfg = sae.config();
        if (cfg.normalization().perRow()) {
            throw new IllegalArgumentException("SAE " + saeId + " normalises its input per row ("
                    + cfg.normalization().saeLensName() + "), so a feature is not an affine function of the residual; "
                    + "SAE_FEATURE takes SAEs with normalize_activations none or expected_average_only_in");
        }
        SaeWeights w = sae.weights();
        int d = cfg.dIn(), m = cfg.dSae();
        double rescale = cfg.architecture() == Architecture.TOPK && cfg.rescaleActsByDecoderNorm()
                ? sae.decoderNorms()[feature] : 1;
        float[] encoder = new float[d];
        for (int i = 0; i < d; i++) encoder[i] = (float) (w.wEnc()[i * m + feature] * rescale);
        double scale = (w.decodeScale() == null ? 1 : w.decodeScale()[feature]) / rescale;
        float[] decoder = new float[d];
        for (int i = 0; i < d; i++) decoder[i] = (float) (w.wDec()[feature * d + i] * scale);
        SaeFeature.Builder b = SaeFeature.newBuilder().setSaeId(saeId).setFeature(feature)
                .setEncoder(TensorCodec.ofFloats(encoder, d)).setEncoderBias(w.bEnc()[feature] * rescale)
                .setDecoder(TensorCodec.ofFloats(decoder, d));
        if (cfg.applyBDecToInput()) b.setInputBias(TensorCodec.ofFloats(w.bDec(), d));
        boolean thresholded = cfg.architecture() == Architecture.JUMPRELU
                || (cfg.architecture() == Architecture.BATCHTOPK && w.threshold() != null);
        if (thresholded) b.setThreshold(w.threshold()[feature]);
        return b.build();
    }
}
