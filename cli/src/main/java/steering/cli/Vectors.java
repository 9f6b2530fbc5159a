package steering.cli;

import io.grpc.ManagedChannel;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import steering.v1.*;

import java.util.concurrent.Callable;

@Command(name = "vectors", description = "List the steering vectors of vector-service's registry (through the gateway).")
class Vectors implements Callable<Integer> {
    @CommandLine.Mixin Target target = new Target();
    @CommandLine.Mixin GatewayTarget gateway = new GatewayTarget();
    @Option(names = "--model", description = "only vectors built on this model id") String model = "";

    @Override
    public Integer call() {
        ManagedChannel ch = gateway.channel();
        try {
            ListVectorsResponse r = gateway.stub(ch, target.deadlineSeconds).listVectors(ListVectorsRequest.newBuilder().setModelId(model).build());
            for (SteeringVector v : r.getVectorsList()) Build.print(v);
            if (r.getVectorsCount() == 0) System.err.println("no vectors");
            return 0;
        } finally {
            ch.shutdownNow();
        }
    }
}
