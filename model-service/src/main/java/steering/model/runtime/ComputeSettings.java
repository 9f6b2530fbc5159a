package steering.model.runtime;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.types.DataType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * Where the model runs and in which floating-point type its matrix products are computed.
 *
 * <p>Settings (environment, or the Quarkus properties steering.model.device / steering.model.dtype):
 * {@code STEERING_DEVICE=auto|cpu|gpu} and {@code STEERING_MODEL_DTYPE=auto|float32|bfloat16|float16}.
 *
 * <p>Only the weights of the matrix products (attention and MLP projections, embedding and output head) are stored
 * in the compute type; the residual stream, norms, attention softmax and logits stay float32, so read hooks return
 * float32 and interventions are added in float32 exactly as given.
 *
 * <p>{@code auto} picks float16 on CUDA and on CPUs that multiply it natively (AVX512-FP16, which oneDNN uses), float32
 * elsewhere. bfloat16 cannot be reached through DJL's PyTorch JNI
 * (its dtype table maps DJL's ordinals 0-8 only; BFLOAT16 is ordinal 11 and the native side calls {@code throw;},
 * which terminates the process), so it is refused with a message rather than crashing. On a CPU, PyTorch's float16
 * products are compute-bound (no faster than float32 at one row, 1.7-2x faster at 8-16 rows, even at 256 rows on
 * this machine): docs/benchmarks.md has the figures that decided the default.
 */
public record ComputeSettings(Device device, DataType dtype, boolean int8Decode) {
    public static final ComputeSettings CPU_FLOAT32 = new ComputeSettings(Device.cpu(), DataType.FLOAT32);

    public ComputeSettings {
        if (dtype != DataType.FLOAT32 && dtype != DataType.FLOAT16) {
            throw new IllegalArgumentException("compute dtype " + dtype + " is not supported (float32 or float16)");
        }
        if (int8Decode && device.isGpu()) {
            throw new IllegalArgumentException("STEERING_MODEL_INT8_DECODE=on is a CPU path; the GPU multiplies in " + dtype);
        }
    }

    /** Every product in the compute dtype (no int8 single-row path). */
    public ComputeSettings(Device device, DataType dtype) {
        this(device, dtype, false);
    }

    /** From STEERING_DEVICE, STEERING_MODEL_DTYPE and STEERING_MODEL_INT8_DECODE (unset means auto). */
    public static ComputeSettings fromEnvironment() {
        Map<String, String> env = System.getenv();
        return resolve(env.getOrDefault("STEERING_DEVICE", "auto"), env.getOrDefault("STEERING_MODEL_DTYPE", "auto"),
                env.getOrDefault("STEERING_MODEL_INT8_DECODE", "auto"));
    }

    /**
     * @param device     auto (a GPU when the engine sees one, else the CPU), cpu or gpu
     * @param dtype      auto, float32, float16; bfloat16 is refused with the reason
     * @param int8Decode auto, on or off: single-sequence decode steps multiply 8-bit copies of the weights
     *                   ({@link Int8Matrix}); auto = on for a CPU when the JVM has the Vector API module
     */
    public static ComputeSettings resolve(String device, String dtype, String int8Decode) {
        return resolve(device, dtype, int8Decode, gpuCount(), Int8Kernels.vectorized());
    }

    public static ComputeSettings resolve(String device, String dtype) {
        return resolve(device, dtype, "auto");
    }

    /** As {@link #resolve(String, String)} with the visible GPUs and the Vector API given (tests choose them). */
    static ComputeSettings resolve(String device, String dtype, int gpus) {
        return resolve(device, dtype, "auto", gpus, Int8Kernels.vectorized());
    }

    static ComputeSettings resolve(String device, String dtype, String int8Decode, int gpus, boolean vectorApi) {
        String d = normal(device);
        Device chosen = switch (d) {
            case "auto" -> gpus > 0 ? Device.gpu() : Device.cpu();
            case "cpu" -> Device.cpu();
            case "gpu", "cuda" -> {
                if (gpus <= 0) {
                    throw new IllegalArgumentException("STEERING_DEVICE=gpu, but PyTorch sees no CUDA device (is the "
                            + "CUDA flavour of the native library installed? see docs/deploy.md, GPU)");
                }
                yield Device.gpu();
            }
            default -> throw new IllegalArgumentException("STEERING_DEVICE='" + device + "': expected auto, cpu or gpu");
        };
        boolean gpu = chosen.isGpu();
        DataType type = switch (normal(dtype)) {
            case "auto" -> gpu || cpuHasAvx512Fp16() ? DataType.FLOAT16 : DataType.FLOAT32;
            case "float32", "fp32" -> DataType.FLOAT32;
            case "float16", "fp16", "half" -> DataType.FLOAT16;
            case "bfloat16", "bf16" -> throw new IllegalArgumentException("STEERING_MODEL_DTYPE=bfloat16 is not "
                    + "reachable through DJL's PyTorch engine (its JNI has no bfloat16 dtype); use float16 or float32");
            default -> throw new IllegalArgumentException("STEERING_MODEL_DTYPE='" + dtype
                    + "': expected auto, float32, float16 or bfloat16");
        };
        boolean int8 = switch (normal(int8Decode)) {
            case "auto" -> !gpu && vectorApi;
            case "on", "true", "1" -> {
                if (gpu) throw new IllegalArgumentException("STEERING_MODEL_INT8_DECODE=on is a CPU path, the device is a GPU");
                if (!vectorApi) {
                    throw new IllegalArgumentException("STEERING_MODEL_INT8_DECODE=on needs the JVM option "
                            + "--add-modules jdk.incubator.vector (without it the int8 product would be slower than PyTorch's)");
                }
                yield true;
            }
            case "off", "false", "0" -> false;
            default -> throw new IllegalArgumentException("STEERING_MODEL_INT8_DECODE='" + int8Decode
                    + "': expected auto, on or off");
        };
        return new ComputeSettings(chosen, type, int8);
    }

    /** "float32" or "float16", as the benchmark's JSON names it. */
    public String dtypeName() {
        return dtype == DataType.FLOAT16 ? "float16" : "float32";
    }

    public String describe() {
        return (device.isGpu() ? "gpu" : "cpu") + " " + dtypeName() + (int8Decode ? ", int8 single-sequence decode" : "");
    }

    /** Whether this CPU has AVX512-FP16 (PyTorch's oneDNN then multiplies float16 natively). */
    public static boolean cpuHasAvx512Fp16() {
        try {
            return Files.readString(Path.of("/proc/cpuinfo")).contains(" avx512_fp16");
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private static int gpuCount() {
        try {
            return Engine.getEngine("PyTorch").getGpuCount();
        } catch (RuntimeException e) {
            return 0;
        }
    }

    private static String normal(String s) {
        return s == null || s.isBlank() ? "auto" : s.trim().toLowerCase(Locale.ROOT);
    }
}
