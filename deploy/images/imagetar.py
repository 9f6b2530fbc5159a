#!/usr/bin/env python3
"""Docker-archive image tarballs (the `docker save` / `docker load` format) without a container runtime.

  imagetar.py pack ROOTFS OUT.tar --tag NAME:TAG [--layer PREFIX,PREFIX ...] [--env K=V ...] [--user U]
                [--workdir DIR] [--label K=V ...] [--epoch SECONDS]
      Packs a directory into an image: one gzip layer per --layer (the paths under those prefixes, in order),
      then one layer with everything else first. Deterministic: entries sorted, mtimes = --epoch, owners numeric.
  imagetar.py inspect IMAGE.tar [--json]
      Prints tags, config digest (image id), the registry manifest digest, entrypoint, user, env, and each layer
      with its compressed and uncompressed size.
  imagetar.py unpack IMAGE.tar DIR
      Applies the layers in order into DIR (OCI whiteouts honoured) and writes DIR/.image-config.json.

Only the Python standard library is used.
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import stat
import sys
import tarfile
import tempfile

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class _Hashing(io.RawIOBase):
    """A write-only stream that hashes and counts what goes through it into another stream."""

    def __init__(self, out):
        self.out, self.h, self.n = out, hashlib.sha256(), 0

    def writable(self):
        return True

    def write(self, b):
        self.h.update(b)
        self.n += len(b)
        self.out.write(b)
        return len(b)


# ---------------------------------------------------------------------------------------------------------- pack
def _entries(rootfs, prefixes, exclude):
    """Relative paths under rootfs (dirs before their contents, sorted) that start with one of the prefixes."""
    out = []
    for dirpath, dirnames, filenames in os.walk(rootfs):
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, rootfs)
        for name in sorted(dirnames + filenames):
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            out.append(rel)
    out.sort()

    def selected(rel):
        hit = any(rel == p or rel.startswith(p + "/") for p in prefixes) if prefixes is not None else True
        return hit and not any(rel == p or rel.startswith(p + "/") for p in exclude)

    chosen = [r for r in out if selected(r)]
    if prefixes is not None:  # parent directories of the prefixes, so that the layer stands alone
        parents = set()
        for p in prefixes:
            parts = p.split("/")
            for i in range(1, len(parts)):
                parents.add("/".join(parts[:i]))
        chosen = sorted(set(chosen) | {p for p in parents if os.path.isdir(os.path.join(rootfs, p))})
    return chosen


def _write_layer(rootfs, rels, epoch, gz_path):
    """Writes the layer gzip to gz_path; returns (diff_id, digest, compressed size, uncompressed size)."""
    inodes = {}
    with open(gz_path, "wb") as raw:
        compressed = _Hashing(raw)
        with gzip.GzipFile(fileobj=compressed, mode="wb", compresslevel=6, mtime=0) as gz:
            uncompressed = _Hashing(gz)
            with tarfile.open(fileobj=uncompressed, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                for rel in rels:
                    path = os.path.join(rootfs, rel)
                    st = os.lstat(path)
                    info = tarfile.TarInfo(rel)
                    info.uid, info.gid, info.uname, info.gname = st.st_uid, st.st_gid, "", ""
                    info.mode = stat.S_IMODE(st.st_mode)
                    info.mtime = epoch
                    if stat.S_ISDIR(st.st_mode):
                        info.type = tarfile.DIRTYPE
                        tar.addfile(info)
                    elif stat.S_ISLNK(st.st_mode):
                        info.type, info.linkname = tarfile.SYMTYPE, os.readlink(path)
                        tar.addfile(info)
                    elif stat.S_ISREG(st.st_mode):
                        key = (st.st_dev, st.st_ino)
                        if st.st_nlink > 1 and key in inodes:
                            info.type, info.linkname = tarfile.LNKTYPE, inodes[key]
                            tar.addfile(info)
                            continue
                        inodes[key] = rel
                        info.size = st.st_size
                        with open(path, "rb") as f:
                            tar.addfile(info, f)
                    else:
                        raise SystemExit(f"pack: {rel}: unsupported file type (devices and fifos do not belong in a rootfs)")
    return "sha256:" + uncompressed.h.hexdigest(), "sha256:" + compressed.h.hexdigest(), compressed.n, uncompressed.n


def pack(args):
    rootfs = os.path.abspath(args.rootfs)
    groups = [[p.strip("/") for p in spec.split(",") if p.strip("/")] for spec in args.layer]
    claimed = [p for g in groups for p in g]
    layer_sets = [("base", _entries(rootfs, None, claimed))] + [(",".join(g), _entries(rootfs, g, [])) for g in groups]
    out_dir = tempfile.mkdtemp(dir=os.path.dirname(os.path.abspath(args.out)) or ".")
    layers, diff_ids, history = [], [], []
    try:
        for name, rels in layer_sets:
            tmp = os.path.join(out_dir, "layer.tmp")
            diff_id, digest, size, usize = _write_layer(rootfs, rels, args.epoch, tmp)
            fname = digest.split(":")[1] + ".tar.gz"
            os.replace(tmp, os.path.join(out_dir, fname))
            layers.append(fname)
            diff_ids.append(diff_id)
            history.append({"created": _iso(args.epoch), "created_by": f"deploy/images/imagetar.py pack: {name}"})
            print(f"  layer {name}: {len(rels)} entries, {usize / 1e6:.1f} MB -> {size / 1e6:.1f} MB gzip {digest[:19]}")
        config = {
            "architecture": "amd64",
            "os": "linux",
            "created": _iso(args.epoch),
            "config": {
                "Env": args.env,
                "User": args.user,
                "WorkingDir": args.workdir,
                "Labels": dict(kv.split("=", 1) for kv in args.label),
            },
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": history,
        }
        config_bytes = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
        config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
        with open(os.path.join(out_dir, config_name), "wb") as f:
            f.write(config_bytes)
        manifest = [{"Config": config_name, "RepoTags": [args.tag], "Layers": layers}]
        with open(os.path.join(out_dir, "manifest.json"), "w") as f:
            json.dump(manifest, f)
        tmp_out = args.out + ".tmp"
        with tarfile.open(tmp_out, "w", format=tarfile.PAX_FORMAT) as tar:
            for name in [config_name] + layers + ["manifest.json"]:
                info = tar.gettarinfo(os.path.join(out_dir, name), arcname=name)
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                info.mtime = args.epoch
                with open(os.path.join(out_dir, name), "rb") as f:
                    tar.addfile(info, f)
        os.replace(tmp_out, args.out)
        print(f"  {args.tag}: image id sha256:{config_name[:-5]}")
    finally:
        for name in os.listdir(out_dir):
            os.unlink(os.path.join(out_dir, name))
        os.rmdir(out_dir)


def _iso(epoch):
    import datetime
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------------------------------------------------------- inspect
def _read(tar, name):
    return tar.extractfile(tar.getmember(name)).read()


def describe(path):
    with tarfile.open(path) as tar:
        names = tar.getnames()
        if "manifest.json" not in names:
            raise SystemExit(f"{path}: no manifest.json (not a docker-archive image tarball)")
        entry = json.loads(_read(tar, "manifest.json"))[0]
        config_bytes = _read(tar, entry["Config"])
        config = json.loads(config_bytes)
        layers = []
        for name, diff_id in zip(entry["Layers"], config["rootfs"]["diff_ids"]):
            m = tar.getmember(name)
            f = tar.extractfile(m)
            h = hashlib.sha256()
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
            layers.append({"file": name, "digest": "sha256:" + h.hexdigest(), "size": m.size, "diff_id": diff_id})
    # the manifest a registry gets when the tarball is pushed as is (docker v2.2 schema, gzip layers)
    manifest = {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": {"mediaType": DOCKER_CONFIG, "size": len(config_bytes),
                   "digest": "sha256:" + hashlib.sha256(config_bytes).hexdigest()},
        "layers": [{"mediaType": DOCKER_LAYER, "size": l["size"], "digest": l["digest"]} for l in layers],
    }
    c = config.get("config", {})
    return {
        "file": path,
        "file_size": os.path.getsize(path),
        "tags": entry.get("RepoTags") or [],
        "image_id": manifest["config"]["digest"],
        "layers_compressed": sum(l["size"] for l in layers),
        "layers": layers,
        "entrypoint": c.get("Entrypoint"),
        "cmd": c.get("Cmd"),
        "user": c.get("User"),
        "workdir": c.get("WorkingDir"),
        "env": c.get("Env") or [],
        "exposed_ports": sorted((c.get("ExposedPorts") or {}).keys()),
        "labels": c.get("Labels") or {},
        "os": config.get("os"),
        "architecture": config.get("architecture"),
    }


def inspect(args):
    d = describe(args.image)
    if args.json:
        json.dump(d, sys.stdout, indent=2)
        print()
        return
    print(f"{d['file']}: {', '.join(d['tags'])}  {d['os']}/{d['architecture']}")
    print(f"  file {d['file_size'] / 1e6:.1f} MB; image id {d['image_id']}")
    print(f"  entrypoint {json.dumps(d['entrypoint'])}  cmd {json.dumps(d['cmd'])}")
    print(f"  user {d['user']!r}  workdir {d['workdir']!r}  ports {', '.join(d['exposed_ports']) or '-'}")
    for e in d["env"]:
        print(f"  env {e}")
    for l in d["layers"]:
        print(f"  layer {l['digest'][:19]}  {l['size'] / 1e6:8.1f} MB gzip")


# -------------------------------------------------------------------------------------------------------- unpack
def _safe_join(root, name):
    path = os.path.normpath(os.path.join(root, name.lstrip("/")))
    if path != root and not path.startswith(root + os.sep):
        raise SystemExit(f"unpack: {name} escapes the root")
    return path


def _remove(path):
    if os.path.islink(path) or not os.path.isdir(path):
        os.unlink(path)
    else:
        for dirpath, dirnames, filenames in os.walk(path, topdown=False):
            for n in filenames:
                os.unlink(os.path.join(dirpath, n))
            for n in dirnames:
                p = os.path.join(dirpath, n)
                os.unlink(p) if os.path.islink(p) else os.rmdir(p)
        os.rmdir(path)


def unpack(args):
    root = os.path.abspath(args.dir)
    os.makedirs(root, exist_ok=True)
    with tarfile.open(args.image) as outer:
        entry = json.loads(_read(outer, "manifest.json"))[0]
        config = json.loads(_read(outer, entry["Config"]))
        for name in entry["Layers"]:
            with tarfile.open(fileobj=outer.extractfile(outer.getmember(name)), mode="r|*") as layer:
                dirs = []
                for m in layer:
                    base = os.path.basename(m.name)
                    if base == ".wh..wh..opq":
                        d = _safe_join(root, os.path.dirname(m.name))
                        for n in os.listdir(d) if os.path.isdir(d) else []:
                            _remove(os.path.join(d, n))
                        continue
                    if base.startswith(".wh."):
                        target = _safe_join(root, os.path.join(os.path.dirname(m.name), base[4:]))
                        if os.path.lexists(target):
                            _remove(target)
                        continue
                    path = _safe_join(root, m.name)
                    if os.path.lexists(path) and not (m.isdir() and os.path.isdir(path) and not os.path.islink(path)):
                        _remove(path)
                    if m.isdir():
                        os.makedirs(path, exist_ok=True)
                        dirs.append(m)
                    elif m.issym():
                        os.makedirs(os.path.dirname(path), exist_ok=True)
                        os.symlink(m.linkname, path)
                    elif m.islnk():
                        os.link(_safe_join(root, m.linkname), path)
                    elif m.isreg():
                        os.makedirs(os.path.dirname(path), exist_ok=True)
                        with open(path, "wb") as f:
                            src = layer.extractfile(m)
                            for chunk in iter(lambda: src.read(1 << 20), b""):
                                f.write(chunk)
                        os.chmod(path, m.mode)
                    else:
                        continue
                    if not m.isdir():
                        try:
                            os.lchown(path, m.uid, m.gid)
                        except PermissionError:
                            pass
                for m in dirs:  # directory modes and owners last: a read-only directory must still be filled
                    path = _safe_join(root, m.name)
                    os.chmod(path, m.mode)
                    try:
                        os.lchown(path, m.uid, m.gid)
                    except PermissionError:
                        pass
    with open(os.path.join(root, ".image-config.json"), "w") as f:
        json.dump(config, f, indent=2)
    print(f"unpacked {len(entry['Layers'])} layers of {', '.join(entry.get('RepoTags') or [])} into {args.dir}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("pack")
    a.add_argument("rootfs")
    a.add_argument("out")
    a.add_argument("--tag", required=True)
    a.add_argument("--layer", action="append", default=[], help="comma-separated path prefixes for one more layer")
    a.add_argument("--env", action="append", default=[])
    a.add_argument("--label", action="append", default=[])
    a.add_argument("--user", default="")
    a.add_argument("--workdir", default="/")
    a.add_argument("--epoch", type=int, default=int(os.environ.get("SOURCE_DATE_EPOCH", "0")))
    a.set_defaults(fn=pack)
    a = sub.add_parser("inspect")
    a.add_argument("image")
    a.add_argument("--json", action="store_true")
    a.set_defaults(fn=inspect)
    a = sub.add_parser("unpack")
    a.add_argument("image")
    a.add_argument("dir")
    a.set_defaults(fn=unpack)
    args = p.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
