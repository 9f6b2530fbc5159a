"""SIGTERM a service while 8 streams run through it: every stream must finish whole, new calls must get
UNAVAILABLE, health must say NOT_SERVING, and the process must end within its grace period.

usage: graceful_shutdown.py <host:port> <pid> <model|gateway> [max_tokens]
Exits non-zero (with the reason) when any of that does not hold. Run by scripts/e2e.sh against the jars.
"""
import os
import sys
import threading
import time

import grpc

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "clients", "python", "src"))
from steering_mesh.proto import common_pb2, gateway_pb2, gateway_pb2_grpc, model_service_pb2, model_service_pb2_grpc  # noqa: E402

STREAMS = 8


def health(channel):
    """The overall health status byte (1 SERVING, 2 NOT_SERVING) from grpc.health.v1.Health/Check, raw."""
    check = channel.unary_unary("/grpc.health.v1.Health/Check", request_serializer=lambda b: b, response_deserializer=lambda b: b)
    body = check(b"", timeout=5)
    return body[1] if len(body) >= 2 and body[0] == 0x08 else 0


def main():
    target, pid, kind = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    max_tokens = int(sys.argv[4]) if len(sys.argv) > 4 else 400
    channel = grpc.insecure_channel(target)
    sampling = common_pb2.SamplingParams(max_tokens=max_tokens, ignore_eos=True, temperature=0.8, seed=1)
    prompt = common_pb2.Prompt(text="Once upon a time")
    if kind == "model":
        stub = model_service_pb2_grpc.ModelServiceStub(channel)
        start = lambda: stub.Generate(model_service_pb2.GenerateRequest(prompt=prompt, sampling=sampling), timeout=300)
        probe = lambda: stub.GetModelInfo(model_service_pb2.GetModelInfoRequest(), timeout=5)
    else:
        stub = gateway_pb2_grpc.SteeringStub(channel)
        start = lambda: stub.Generate(gateway_pb2.SteeredGenerateRequest(prompt=prompt, sampling=sampling), timeout=300)
        probe = lambda: stub.GetModelInfo(model_service_pb2.GetModelInfoRequest(), timeout=5)

    tokens = [0] * STREAMS
    errors = [None] * STREAMS
    started = threading.Barrier(STREAMS + 1)

    def run(i):
        first = True
        try:
            for r in start():
                tokens[i] += len(r.token_ids)
                if first:
                    first = False
                    started.wait(timeout=120)
        except grpc.RpcError as e:
            errors[i] = f"{e.code().name}: {e.details()}"
        except threading.BrokenBarrierError:
            errors[i] = "no first token"
        if first:
            started.abort()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(STREAMS)]
    for t in threads:
        t.start()
    started.wait(timeout=120)
    os.kill(pid, 15)
    t_term = time.monotonic()
    running_at_term = sum(1 for t in threads if t.is_alive())

    # new calls are refused while the running ones finish
    status, refused = 0, None
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (status != 2 or refused is None):
        try:
            status = health(channel)
        except grpc.RpcError:
            pass
        try:
            probe()
        except grpc.RpcError as e:
            refused = e.code().name
        time.sleep(0.05)
    for t in threads:
        t.join(timeout=300)
    finished = time.monotonic() - t_term
    exited = None
    while time.monotonic() - t_term < 120:
        if not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z":
            exited = time.monotonic() - t_term
            break
        time.sleep(0.1)

    problems = []
    if running_at_term < STREAMS:
        problems.append(f"only {running_at_term} streams were running at SIGTERM (make them longer)")
    for i in range(STREAMS):
        if errors[i] or tokens[i] != max_tokens:
            problems.append(f"stream {i}: {tokens[i]}/{max_tokens} tokens, {errors[i] or 'OK'}")
    if status != 2:
        problems.append(f"health said {status} after SIGTERM, not NOT_SERVING (2)")
    if refused != "UNAVAILABLE":
        problems.append(f"a new call after SIGTERM got {refused}, not UNAVAILABLE")
    if exited is None:
        problems.append("the process did not end within 120 s of SIGTERM")
    print(f"{kind} SIGTERM during {running_at_term} streams: {sum(t == max_tokens for t in tokens)}/{STREAMS} finished "
          f"with all {max_tokens} tokens ({finished:.1f} s after SIGTERM); health NOT_SERVING: {status == 2}; "
          f"new calls: {refused}; process ended after {exited if exited is None else round(exited, 1)} s")
    for p in problems:
        print("  FAIL:", p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
