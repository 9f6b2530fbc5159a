package steering.common.grpc;

import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ServerCredentials;
import io.grpc.TlsChannelCredentials;
import io.grpc.TlsServerCredentials;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * TLS settings of one member of the mesh, the same four for every service and the CLI (PEM files):
 * <ul>
 *   <li>{@code STEERING_TLS_CA} ({@code steering.tls.ca}): the CA that signs the mesh's certificates. Clients trust
 *       it (set: calls use TLS; unset: plaintext); servers check client certificates against it.</li>
 *   <li>{@code STEERING_TLS_CERT} / {@code STEERING_TLS_KEY} ({@code steering.tls.cert} / {@code .key}): this
 *       member's certificate chain and private key (PKCS#8). A service serves TLS with them and presents them as
 *       its client certificate when it calls another service (mTLS).</li>
 *   <li>{@code STEERING_TLS_CLIENT_AUTH} ({@code steering.tls.client-auth}): NONE (default), REQUEST or REQUIRED:
 *       whether the server asks for, or requires, a client certificate signed by the CA.</li>
 * </ul>
 * Nothing set means plaintext everywhere. Inconsistent or unreadable settings fail with a message naming the
 * setting, so that a service refuses to start rather than running without the protection it was asked for.
 */
public record MeshTls(Path ca, Path cert, Path key, ClientAuth clientAuth) {
    public enum ClientAuth { NONE, REQUEST, REQUIRED }

    public static final String CA = "STEERING_TLS_CA";
    public static final String CERT = "STEERING_TLS_CERT";
    public static final String KEY = "STEERING_TLS_KEY";
    public static final String CLIENT_AUTH = "STEERING_TLS_CLIENT_AUTH";

    public static final MeshTls PLAINTEXT = new MeshTls(null, null, null, ClientAuth.NONE);

    /** The configuration property a setting is also known by (MicroProfile Config maps the one to the other). */
    public static String property(String env) {
        return env.toLowerCase(Locale.ROOT).replace('_', '.').replace("client.auth", "client-auth");
    }

    static String describe(String env) {
        return env + " (" + property(env) + ")";
    }

    /** From the process environment. */
    public static MeshTls fromEnv() {
        return from(System.getenv()::get);
    }

    /** From a lookup by environment-variable name ({@link #CA}, ...); blank values count as unset. */
    public static MeshTls from(Function<String, String> lookup) {
        return of(lookup.apply(CA), lookup.apply(CERT), lookup.apply(KEY), lookup.apply(CLIENT_AUTH));
    }

    public static MeshTls from(Map<String, String> settings) {
        return from(settings::get);
    }

    /** Checks the settings and the files; throws IllegalArgumentException naming the setting that is wrong. */
    public static MeshTls of(String ca, String cert, String key, String clientAuth) {
        Path caPath = pemFile(CA, ca, "CERTIFICATE");
        Path certPath = pemFile(CERT, cert, "CERTIFICATE");
        Path keyPath = pemFile(KEY, key, "PRIVATE KEY");
        if ((certPath == null) != (keyPath == null)) {
            throw new IllegalArgumentException(describe(certPath == null ? CERT : KEY) + " is not set, but "
                    + describe(certPath == null ? KEY : CERT) + " is: set both (certificate and private key) or neither");
        }
        ClientAuth auth;
        String a = blank(clientAuth) ? "NONE" : clientAuth.trim().toUpperCase(Locale.ROOT);
        try {
            auth = ClientAuth.valueOf(a);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(describe(CLIENT_AUTH) + "=" + clientAuth + ": expected NONE, REQUEST or REQUIRED");
        }
        if (auth != ClientAuth.NONE && (caPath == null || certPath == null)) {
            throw new IllegalArgumentException(describe(CLIENT_AUTH) + "=" + auth + " needs " + describe(CA)
                    + " (to verify client certificates) and " + describe(CERT) + " / " + describe(KEY) + " (the server's own)");
        }
        return new MeshTls(caPath, certPath, keyPath, auth);
    }

    private static boolean blank(String s) {
        return s == null || s.isBlank();
    }

    private static Path pemFile(String setting, String value, String kind) {
        if (blank(value)) return null;
        Path p = Path.of(value.trim());
        if (!Files.isRegularFile(p)) throw new IllegalArgumentException(describe(setting) + "=" + value + ": no such file");
        if (!Files.isReadable(p)) throw new IllegalArgumentException(describe(setting) + "=" + value + ": not readable");
        String text;
        try {
            text = Files.readString(p, StandardCharsets.US_ASCII);
        } catch (IOException | UncheckedIOException e) {
            throw new IllegalArgumentException(describe(setting) + "=" + value + ": cannot read: " + e.getMessage());
        }
        if (!text.contains("-----BEGIN ") || !text.contains(kind + "-----")) {
            throw new IllegalArgumentException(describe(setting) + "=" + value + ": not a PEM file with a " + kind);
        }
        if (text.contains("ENCRYPTED PRIVATE KEY")) {
            throw new IllegalArgumentException(describe(setting) + "=" + value + ": the private key is encrypted; give an unencrypted PKCS#8 key");
        }
        if (kind.equals("CERTIFICATE")) {
            try {
                if (CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(text.getBytes(StandardCharsets.US_ASCII))).isEmpty()) {
                    throw new CertificateException("no certificate");
                }
            } catch (CertificateException e) {
                throw new IllegalArgumentException(describe(setting) + "=" + value + ": not a valid X.509 certificate: " + e.getMessage());
            }
        }
        return p;
    }

    /** Clients use TLS when a CA is configured. */
    public boolean clientTls() {
        return ca != null;
    }

    /** The server serves TLS when it has a certificate. */
    public boolean serverTls() {
        return cert != null;
    }

    /** What a client of the mesh connects with: plaintext, TLS trusting the CA, or mTLS presenting cert + key. */
    public ChannelCredentials channelCredentials() {
        if (!clientTls()) return InsecureChannelCredentials.create();
        try {
            TlsChannelCredentials.Builder b = TlsChannelCredentials.newBuilder().trustManager(ca.toFile());
            if (cert != null) b.keyManager(cert.toFile(), key.toFile());
            return b.build();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot load the mesh TLS files " + this, e);
        }
    }

    /** The same settings as a grpc-java server's credentials (the services use Quarkus' server; tests and tools use this). */
    public ServerCredentials serverCredentials() {
        if (!serverTls()) throw new IllegalStateException(describe(CERT) + " is not set: no server certificate");
        try {
            TlsServerCredentials.Builder b = TlsServerCredentials.newBuilder().keyManager(cert.toFile(), key.toFile());
            if (ca != null) b.trustManager(ca.toFile());
            b.clientAuth(switch (clientAuth) {
                case NONE -> TlsServerCredentials.ClientAuth.NONE;
                case REQUEST -> TlsServerCredentials.ClientAuth.OPTIONAL;
                case REQUIRED -> TlsServerCredentials.ClientAuth.REQUIRE;
            });
            return b.build();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot load the mesh TLS files " + this, e);
        }
    }

    /** One line for the start-up log. */
    public String summary() {
        if (!clientTls() && !serverTls()) return "plaintext (no STEERING_TLS_* set)";
        return "server " + (serverTls() ? "TLS (" + cert + ")" : "plaintext") + ", client auth " + clientAuth
                + "; calls " + (clientTls() ? (cert != null ? "mTLS" : "TLS") + " trusting " + ca : "plaintext");
    }
}
