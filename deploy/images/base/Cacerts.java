import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Writes the JRE's trust store from Debian's CA certificates: what ca-certificates-java's maintainer script does
 * on a real Debian system (base images are unpacked without running maintainer scripts).
 *
 * <pre>java Cacerts.java DIR_OF_CRT_FILES OUT_KEYSTORE</pre>
 *
 * A PKCS12 keystore with the JDK's default password "changeit", one trusted-certificate entry per file, aliased
 * "debian:NAME.pem" as Debian does.
 */
public class Cacerts {
    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: java Cacerts.java DIR_OF_CRT_FILES OUT_KEYSTORE");
            System.exit(2);
        }
        CertificateFactory x509 = CertificateFactory.getInstance("X.509");
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        List<Path> files;
        try (Stream<Path> list = Files.list(Path.of(args[0]))) {
            files = list.filter(p -> p.toString().endsWith(".crt")).sorted().collect(Collectors.toList());
        }
        for (Path file : files) {
            try (InputStream in = Files.newInputStream(file)) {
                Certificate cert = x509.generateCertificate(in);
                String name = file.getFileName().toString();
                store.setCertificateEntry("debian:" + name.substring(0, name.length() - 4) + ".pem", cert);
            }
        }
        if (store.size() == 0) {
            throw new IllegalStateException("no .crt files in " + args[0]);
        }
        try (OutputStream out = Files.newOutputStream(Path.of(args[1]))) {
            store.store(out, "changeit".toCharArray());
        }
        System.out.println(store.size() + " certificates -> " + args[1]);
    }
}
