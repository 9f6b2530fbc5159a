package steering.sae.corpus;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import steering.v1.CorpusSource;
import steering.v1.TextList;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class CorpusReaderTest {
    @Test
    void readsDatasetsFilesAndTextsAndInterleavesThem(@TempDir Path dir) throws Exception {
        Path corpus = Files.createDirectories(dir.resolve("corpus"));
        Files.createDirectories(corpus.resolve("stories"));
        Files.writeString(corpus.resolve("stories/s.jsonl"), "{\"text\": \"s1\"}\n\n{\"text\": \"s2\"}\n{\"text\": \"s3\"}\n");
        Files.createDirectories(corpus.resolve("wiki"));
        Files.writeString(corpus.resolve("wiki/w.json"), "[\"w1\", \"w2\"]");
        Path txt = dir.resolve("notes.txt");
        Files.writeString(txt, "first doc\nstill first\n\n\nsecond doc\n");
        CorpusReader r = new CorpusReader(corpus, ReadableRoots.anywhere());
        assertEquals(List.of("stories", "wiki"), r.datasets());
        List<CorpusReader.Document> docs = r.read(List.of(
                CorpusSource.newBuilder().setDataset("stories").build(),
                CorpusSource.newBuilder().setDataset("wiki").build(),
                CorpusSource.newBuilder().setPath(txt.toString()).setMaxDocuments(1).build(),
                CorpusSource.newBuilder().setTexts(TextList.newBuilder().addTexts("t1").addTexts(" ")).build()), null, () -> false);
        assertEquals(List.of("s1", "w1", "first doc\nstill first", "t1", "s2", "w2", "s3"), docs.stream().map(CorpusReader.Document::text).toList());
        assertEquals("dataset:stories", docs.get(0).source());
        assertEquals("file:notes.txt[:1]", docs.get(2).source());
    }

    @Test
    void badSourcesNameTheField(@TempDir Path dir) throws Exception {
        Path outside = dir.resolve("outside.jsonl");
        Files.writeString(outside, "{\"text\": \"x\"}\n");
        CorpusReader r = new CorpusReader(dir, ReadableRoots.parse(dir.resolve("allowed").toString()));
        assertField("corpus", () -> r.validate(List.of(), "corpus"));
        assertField("corpus[0].dataset", () -> r.validate(List.of(CorpusSource.newBuilder().setDataset("../etc").build()), "corpus"));
        assertField("corpus[0].path", () -> r.validate(List.of(CorpusSource.newBuilder().setPath(outside.toString()).build()), "corpus"));
        assertField("corpus[1].max_documents", () -> r.validate(List.of(CorpusSource.newBuilder().setTexts(TextList.newBuilder().addTexts("a")).build(),
                CorpusSource.newBuilder().setTexts(TextList.newBuilder().addTexts("a")).setMaxDocuments(-1).build()), "corpus"));
        assertField("corpus[0]", () -> r.validate(List.of(CorpusSource.getDefaultInstance()), "corpus"));
        assertTrue(ReadableRoots.parse("*").allows(outside));
        assertFalse(ReadableRoots.parse("").allows(outside));
    }

    static void assertField(String field, org.junit.jupiter.api.function.Executable call) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call);
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().startsWith(field + ":") || e.getStatus().getDescription().startsWith(field + " "),
                e.getStatus().getDescription());
    }
}
