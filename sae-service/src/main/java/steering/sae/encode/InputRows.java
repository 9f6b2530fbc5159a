package steering.sae.encode;

import steering.v1.EncodedText;

import java.util.List;

/**
 * Rows of residual-stream activations {@code [rows, d_in]}, and for texts how they split by prompt: text i is rows
 * {@code [groups[i][0], groups[i][1])}. A tensor input is one group and no texts.
 */
public record InputRows(float[] data, int rows, List<EncodedText> texts, List<int[]> groups) {}
