package steering.sae.encode;

/** Row-major {@code [rows, width]} floats, as a request's tensor or sparse list gave them. */
public record DenseRows(float[] data, int rows) {}
