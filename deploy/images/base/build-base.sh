#!/usr/bin/env bash
# Builds the base image of the service images from Debian packages, without a container runtime or registry:
#   1. `apt-get download` of the packages in packages.txt (Debian's mirrors are the only place it comes from)
#   2. unpacks them into a rootfs with dpkg-deb (merged /usr as in Debian 12; no maintainer script runs, so this
#      script does their few useful parts: the CA bundle, the JRE's cacerts, ld.so.cache, the JVM's CDS archive)
#   3. adds the user 185 (the uid the Kubernetes manifests run as), /tmp, /home/jboss (Quarkus' Jib work dir)
#   4. packs it as a docker-archive tarball with imagetar.py: layer 1 = OS, layer 2 = JRE
#   5. for model-service's CUDA image only (deploy/images/build.sh --gpu), a layer 3 with NVIDIA's CUDA runtime
#      libcudart.so.12 from the nvidia-cuda-runtime-cu12 wheel given as CUDART_WHEEL: DJL counts GPUs by loading
#      "cudart" through JNA, and the copy inside DJL's CUDA libtorch has a hashed file name JNA cannot find
#      (docs/deploy.md, "GPU"). Layers 1 and 2 are built exactly as without it.
#
#   deploy/images/base/build-base.sh OUT.tar [TAG] [CUDART_WHEEL]
#
# Needs root (apt-get download, file ownership in the rootfs, chroot for the CDS dump), dpkg-deb, python3, java.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$(realpath -m "${1:?usage: build-base.sh OUT.tar [TAG]}")"
tag="${2:-steering/base-jre17:latest}"
cudart_wheel="${3:+$(realpath "$3")}"
jre=usr/lib/jvm/java-17-openjdk-amd64

work="$(mktemp -d "${TMPDIR:-/tmp}/steering-base.XXXXXX")"
cleanup() {
  umount "$work/rootfs/proc" "$work/rootfs/dev" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
rootfs="$work/rootfs"
mkdir -p "$work/debs" "$rootfs"

mapfile -t packages < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$here/packages.txt" | grep -v '^$')
echo "downloading ${#packages[@]} Debian packages ..."
(cd "$work/debs" && apt-get download "${packages[@]}" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
[ "$(ls "$work/debs"/*.deb | wc -l)" -eq "${#packages[@]}" ] \
  || { echo "expected ${#packages[@]} .deb files, got: $(ls "$work/debs")" >&2; echo "(run apt-get update first?)" >&2; exit 1; }

# merged /usr, as on every Debian 12 system (usrmerge): packages that ship /lib/... land in /usr/lib/...
mkdir -p "$rootfs/usr/bin" "$rootfs/usr/sbin" "$rootfs/usr/lib" "$rootfs/usr/lib64"
for d in bin sbin lib lib64; do ln -s "usr/$d" "$rootfs/$d"; done

mkdir -p "$rootfs/var/lib/dpkg/status.d"
for deb in "$work"/debs/*.deb; do
  name="$(dpkg-deb -f "$deb" Package)"
  dpkg-deb --fsys-tarfile "$deb" | tar -x --keep-directory-symlink -C "$rootfs"
  # distroless-style package records, so that image scanners (trivy, grype, syft) see what is inside
  dpkg-deb -f "$deb" > "$rootfs/var/lib/dpkg/status.d/$name"
  printf '%s=%s\n' "$name" "$(dpkg-deb -f "$deb" Version)" >> "$work/packages.lock"
done
sort -o "$work/packages.lock" "$work/packages.lock"

# what the maintainer scripts would have done, as far as a JVM service needs it
ln -sf "/$jre/bin/java" "$rootfs/usr/bin/java"
ln -sf "/$jre/bin/keytool" "$rootfs/usr/bin/keytool"
mkdir -p "$rootfs/etc/ssl/certs/java"
find "$rootfs/usr/share/ca-certificates/mozilla" -name '*.crt' | sort | xargs cat > "$rootfs/etc/ssl/certs/ca-certificates.crt"
java "$here/Cacerts.java" "$rootfs/usr/share/ca-certificates/mozilla" "$rootfs/etc/ssl/certs/java/cacerts"
echo 'include /etc/ld.so.conf.d/*.conf' > "$rootfs/etc/ld.so.conf"
ldconfig -r "$rootfs"
ln -sf /usr/share/zoneinfo/Etc/UTC "$rootfs/etc/localtime"
echo "Etc/UTC" > "$rootfs/etc/timezone"

# users: root, and 185 as in the UBI OpenJDK images that Quarkus' Jib build uses by default (the manifests'
# runAsUser); nobody for completeness
cat > "$rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/usr/sbin/nologin
jboss:x:185:185:service user:/home/jboss:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
cat > "$rootfs/etc/group" <<'EOF'
root:x:0:
jboss:x:185:
nogroup:x:65534:
EOF
printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n' \
  > "$rootfs/etc/nsswitch.conf"
mkdir -p "$rootfs/root" "$rootfs/home/jboss" "$rootfs/tmp" "$rootfs/proc" "$rootfs/dev" "$rootfs/sys" "$rootfs/etc/ssl/private"
chmod 700 "$rootfs/root"
chmod 1777 "$rootfs/tmp"
chown 185:185 "$rootfs/home/jboss"

# nothing a runtime image needs: manuals, translations, debug symbol stubs, lintian overrides (copyright files stay)
rm -rf "$rootfs/usr/share/man" "$rootfs/usr/share/info" "$rootfs/usr/share/locale" "$rootfs/usr/share/lintian" \
  "$rootfs/usr/lib/debug"
find "$rootfs/usr/share/doc" -mindepth 2 ! -name copyright ! -type d -delete
find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete

# every shared library of the JRE's core must resolve inside the rootfs (the desktop ones may not: see packages.txt)
missing="$(for so in "$rootfs/$jre"/lib/server/libjvm.so "$rootfs/$jre"/lib/lib{java,jli,net,nio,zip,jimage,verify,management,management_ext,extnet,prefs,jaas,j2gss,attach,instrument,sctp,rmi}.so; do
  [ -e "$so" ] || { echo "not in the JRE: ${so#$rootfs}"; continue; }
  chroot "$rootfs" /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 --list "${so#$rootfs}" 2>&1 | grep 'not found' || true
done)"
[ -z "$missing" ] || { echo "unresolved libraries in the base rootfs:" >&2; echo "$missing" >&2; exit 1; }

# the JVM's default CDS archive (Debian's postinst runs -Xshare:dump): faster start of every service
mount --bind /dev "$rootfs/dev"
mount -t proc proc "$rootfs/proc"
chroot "$rootfs" "/$jre/bin/java" -Xshare:dump > "$work/cds.log" 2>&1 || { cat "$work/cds.log" >&2; exit 1; }
chroot "$rootfs" "/$jre/bin/java" -Xshare:on -version 2>&1 | sed 's/^/  /'
umount "$rootfs/proc" "$rootfs/dev"

cp "$work/packages.lock" "$rootfs/etc/steering-base-packages.txt"
version="$(sed -n 's/^openjdk-17-jre-headless=//p' "$work/packages.lock")"

# layer 3 (CUDA image only): libcudart.so.12 and its licence, after ldconfig so that layer 1 does not change; the
# dynamic loader and JNA find it in /usr/lib/x86_64-linux-gnu, one of glibc's default directories on Debian
extra_layer=()
extra_label=()
if [ -n "$cudart_wheel" ]; then
  cudart_version="$(python3 - "$cudart_wheel" "$rootfs" <<'PY'
import os, sys, zipfile
wheel, rootfs = sys.argv[1], sys.argv[2]
lib = os.path.join(rootfs, "usr/lib/x86_64-linux-gnu")
doc = os.path.join(rootfs, "usr/share/doc/nvidia-cuda-runtime-cu12")
os.makedirs(doc, exist_ok=True)
with zipfile.ZipFile(wheel) as z:
    names = z.namelist()
    so = [n for n in names if n.endswith("/lib/libcudart.so.12")]
    lic = [n for n in names if n.endswith(".dist-info/License.txt")]
    meta = [n for n in names if n.endswith(".dist-info/METADATA")]
    if len(so) != 1 or len(lic) != 1 or len(meta) != 1:
        raise SystemExit(f"{wheel}: expected one libcudart.so.12, License.txt and METADATA, found {so} {lic} {meta}")
    with open(os.path.join(lib, "libcudart.so.12"), "wb") as f:
        f.write(z.read(so[0]))
    with open(os.path.join(doc, "License.txt"), "wb") as f:
        f.write(z.read(lic[0]))
    version = next(l.split(":", 1)[1].strip() for l in z.read(meta[0]).decode().splitlines() if l.startswith("Version:"))
os.chmod(os.path.join(lib, "libcudart.so.12"), 0o644)
os.symlink("libcudart.so.12", os.path.join(lib, "libcudart.so"))
print(version)
PY
)"
  echo "nvidia-cuda-runtime-cu12=$cudart_version" >> "$rootfs/usr/share/doc/nvidia-cuda-runtime-cu12/version"
  extra_layer=(--layer "usr/lib/x86_64-linux-gnu/libcudart.so,usr/lib/x86_64-linux-gnu/libcudart.so.12,usr/share/doc/nvidia-cuda-runtime-cu12")
  extra_label=(--label "dev.steeringmesh.cudart=$cudart_version")
fi

mkdir -p "$(dirname "$out")"
python3 "$here/../imagetar.py" pack "$rootfs" "$out" --tag "$tag" \
  --layer "$jre,etc/java-17-openjdk,etc/ssl/certs/java,usr/bin/java,usr/bin/keytool" \
  "${extra_layer[@]}" "${extra_label[@]}" \
  --env "PATH=/$jre/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --env "JAVA_HOME=/$jre" \
  --env "LANG=C.UTF-8" \
  --user 185 --workdir /home/jboss \
  --label "org.opencontainers.image.title=steering-mesh base (Debian 12, OpenJDK 17 JRE headless)" \
  --label "org.opencontainers.image.base.name=debian:bookworm packages (deploy/images/base/packages.txt)" \
  --label "dev.steeringmesh.jre=$version"
cp "$work/packages.lock" "${out%.tar}.packages.txt"
echo "base image: $out ($(du -m "$out" | cut -f1) MB); packages in ${out%.tar}.packages.txt"
