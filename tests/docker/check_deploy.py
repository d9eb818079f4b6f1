#!/usr/bin/python3
"""Checks docker/ without a Docker engine or a cluster (ctest: docker.manifests).

- Every YAML file under docker/ parses (all documents of multi-document files).
- The Dockerfile is multi-stage on debian:12 and installs its packages with the same
  scripts/install-deps that the README's commands (scripts/run, scripts/test) call, whose
  --build and --runtime lists are subsets of the full list; it builds with cmake, runs as a
  non-root user, exposes the serve port, has a HEALTHCHECK on /healthz and `hashguard serve`
  as its entrypoint.
- docker-compose.yml: PostgreSQL 15, at least two hashguard nodes, a load balancer whose
  config file (in docker/) lists every node and checks /readyz, healthchecks everywhere, the
  secrets' files present, and the bootstrap admin key and database URL given as a secret.
- docker/k8s/: Deployment (readiness /readyz, liveness /healthz on the serve port, resources,
  non-root, terminationGracePeriodSeconds covering the drain), Service, ConfigMap, Secret
  (placeholders only), HorizontalPodAutoscaler, PodDisruptionBudget, all wired to each other.
- Every configuration key used (HG_* variables, --flags, config files) is a key that
  `hashguard serve --help` lists; ports and probe paths agree with the serve defaults.

Usage: check_deploy.py --source-dir DIR --hashguard BIN
"""

import argparse
import re
import subprocess
import sys
from pathlib import Path

import yaml

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
    return ok


# ---- what `hashguard serve --help` says --------------------------------------------------


def serve_settings(binary):
    """{key: default} from `hashguard serve --help`."""
    out = subprocess.run([binary, "serve", "--help"], check=True, capture_output=True,
                         text=True, timeout=30).stdout
    settings = {}
    for line in out.splitlines():
        m = re.match(r"^\s+--([a-z0-9_.]+)\s.*\(default: (.*)\)\s*$", line)
        if m:
            settings[m.group(1)] = m.group(2)
    if not settings:
        sys.exit("check_deploy: no settings in `hashguard serve --help`:\n" + out)
    return settings


def env_name(key):
    return "HG_" + key.upper().replace(".", "_")


def flag_key(flag, settings):
    """The config key of a --flag (dots, dashes and underscores alike), or None."""
    name = flag[2:].split("=", 1)[0]
    norm = name.replace("-", "_").replace(".", "_")
    for key in settings:
        if key.replace(".", "_") == norm:
            return key
    return None


def config_file_keys(text):
    """{key: value} of a `key = value` config text (# comments)."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if check("=" in line, f"config line without '=': {line!r}"):
            key, value = line.split("=", 1)
            out[key.strip()] = value.strip()
    return out


def check_env(env, settings, where):
    """HG_* variables must name serve settings."""
    known = {env_name(k): k for k in settings}
    for name in env:
        if name.startswith("HG_"):
            check(name in known, f"{where}: {name} is not a `hashguard serve` setting")


def check_args(args, settings, where):
    for a in args:
        if a.startswith("--") and a not in ("--config", "--help"):
            check(flag_key(a, settings) is not None,
                  f"{where}: flag {a} is not a `hashguard serve` setting")


# ---- YAML --------------------------------------------------------------------------------


def load_all_yaml(docker_dir):
    docs = {}
    files = sorted(list(docker_dir.rglob("*.yaml")) + list(docker_dir.rglob("*.yml")))
    check(files, "no YAML files under docker/")
    for f in files:
        try:
            with open(f, encoding="utf-8") as fh:
                docs[f] = [d for d in yaml.safe_load_all(fh) if d is not None]
            check(docs[f], f"{f}: no YAML document")
        except yaml.YAMLError as e:
            check(False, f"{f}: does not parse: {e}")
    return docs


# ---- install-deps and the Dockerfile -----------------------------------------------------


BASE_IMAGE_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6"}  # in every debian:12 image


def package_of(path):
    r = subprocess.run(["dpkg-query", "-S", path], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        # usrmerge: /lib/x86_64-linux-gnu/... is registered as /usr/lib/... or the other way.
        alt = path[4:] if path.startswith("/usr/") else "/usr" + path
        r = subprocess.run(["dpkg-query", "-S", alt], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        return None
    return r.stdout.split(":", 1)[0].strip()


def install_deps_lists(src, binary):
    script = src / "scripts" / "install-deps"

    def listing(*flags):
        r = subprocess.run(["bash", str(script), *flags, "--print"], check=True,
                           capture_output=True, text=True, timeout=30)
        return [p for p in r.stdout.split() if p]

    full = set(listing())
    build = listing("--build")
    runtime = set(listing("--runtime"))
    check("python3-yaml" in full, "install-deps does not install python3-yaml (this test)")
    for p in build:
        check(p in full, f"install-deps --build installs {p}, which the full list lacks")
    for p in runtime:
        check(not p.endswith("-dev"), f"install-deps --runtime installs a -dev package: {p}")
        st = subprocess.run(["dpkg-query", "-W", "-f=${db:Status-Status}", p],
                            capture_output=True, text=True, timeout=30).stdout
        check(st == "installed",
              f"install-deps --runtime names {p}, which is not installed where the tests ran")
    # Every library the binary links directly comes from a runtime package (or the base image).
    needed = re.findall(r"NEEDED\s+(\S+)",
                        subprocess.run(["objdump", "-p", binary], check=True, capture_output=True,
                                       text=True, timeout=60).stdout)
    paths = {}
    for line in subprocess.run(["ldd", binary], check=True, capture_output=True, text=True,
                               timeout=60).stdout.splitlines():
        m = re.match(r"\s*(\S+) => (\S+)", line)
        if m:
            paths[m.group(1)] = m.group(2)
    check(needed, "objdump found no NEEDED libraries in the binary")
    for lib in needed:
        # The loader, and the sanitizer runtimes of a -DHG_SANITIZE=ON build (the test command
        # runs this check there too; a release image never links them).
        if lib.startswith(("ld-linux", "libasan.", "libubsan.", "libtsan.", "liblsan.")):
            continue
        pkg = package_of(paths.get(lib, lib))
        if check(pkg, f"no Debian package provides {lib}"):
            check(pkg in runtime or pkg in BASE_IMAGE_PACKAGES,
                  f"the binary needs {lib} from {pkg}, which install-deps --runtime lacks")
    return full


def dockerfile_instructions(text):
    """[(INSTRUCTION, arguments)] with continuation lines joined, comments dropped."""
    out = []
    current = ""
    for raw in text.splitlines():
        line = raw.rstrip()
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.lstrip().startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        parts = current.strip().split(None, 1)
        out.append((parts[0].upper(), parts[1] if len(parts) > 1 else ""))
        current = ""
    return out


def check_dockerfile(src, settings):
    docker_dir = src / "docker"
    text = (docker_dir / "Dockerfile").read_text(encoding="utf-8")
    ins = dockerfile_instructions(text)
    stages = []  # [(base, [instructions])]
    for name, args in ins:
        if name == "FROM":
            stages.append((args.split()[0], []))
        elif stages:
            stages[-1][1].append((name, args))
    check(len(stages) >= 2, "Dockerfile is not multi-stage")
    for base, _ in stages:
        check(base == "debian:12", f"Dockerfile stage FROM {base}, not debian:12")

    # The same script as the README's commands, in every stage.
    for cmd in ("run", "test"):
        body = (src / "scripts" / cmd).read_text(encoding="utf-8")
        check(re.search(r"^\s*scripts/install-deps\b", body, re.M),
              f"scripts/{cmd} no longer calls scripts/install-deps: re-check the Dockerfile")
    for i, (base, body) in enumerate(stages):
        copies = [a for n, a in body if n == "COPY" and "scripts/install-deps" in a.split()[0:1]]
        runs = [a for n, a in body if n == "RUN" and "install-deps" in a]
        check(copies, f"Dockerfile stage {i} does not COPY scripts/install-deps")
        check(runs, f"Dockerfile stage {i} does not RUN install-deps")
    build_runs = " ".join(a for n, a in stages[0][1] if n == "RUN")
    check("install-deps --build" in build_runs, "build stage does not run install-deps --build")
    check("cmake -S" in build_runs and "cmake --build" in build_runs,
          "build stage does not build with cmake")
    final = dict()
    for n, a in stages[-1][1]:
        final.setdefault(n, []).append(a)
    runtime_runs = " ".join(final.get("RUN", []))
    check("install-deps --runtime" in runtime_runs,
          "runtime stage does not run install-deps --runtime")
    check(any(a.startswith("--from=") for a in final.get("COPY", [])),
          "runtime stage copies nothing from the build stage")

    users = final.get("USER", [])
    check(users, "runtime stage has no USER")
    if users:
        user = users[-1].split(":")[0]
        check(user not in ("root", "0"), f"runtime stage runs as {user}")

    env = {}
    for a in final.get("ENV", []):
        for m in re.finditer(r"(\w+)=(\S+)", a):
            env[m.group(1)] = m.group(2)
    check_env(env, settings, "Dockerfile ENV")
    port = env.get("HG_HTTP_PORT", settings["http.port"])
    check(any(port in a.split() for a in final.get("EXPOSE", [])),
          f"Dockerfile does not EXPOSE the serve port {port}")
    health = " ".join(final.get("HEALTHCHECK", []))
    check(f":{port}/healthz" in health, "Dockerfile HEALTHCHECK does not probe /healthz on the port")
    entry = final.get("ENTRYPOINT", [""])[-1]
    check(entry.replace(" ", "") == '["hashguard","serve"]',
          f"Dockerfile ENTRYPOINT is {entry}, not hashguard serve")
    return port


# ---- docker-compose.yml ------------------------------------------------------------------


def listify(v):
    if v is None:
        return []
    if isinstance(v, str):
        return v.split()
    return [str(x) for x in v]


def env_dict(v):
    if isinstance(v, dict):
        return {str(k): str(x) for k, x in v.items()}
    out = {}
    for item in v or []:
        k, _, x = str(item).partition("=")
        out[k] = x
    return out


def check_compose(src, compose, settings, port):
    docker_dir = src / "docker"
    services = compose.get("services", {})
    check(services, "docker-compose.yml has no services")
    secrets = compose.get("secrets", {})
    for name, spec in secrets.items():
        check((docker_dir / spec.get("file", "")).is_file(),
              f"compose secret {name}: file {spec.get('file')} missing")
    pg = [n for n, s in services.items() if str(s.get("image", "")).startswith("postgres:15")]
    check(len(pg) == 1, "docker-compose.yml needs one PostgreSQL 15 service")
    nodes = [n for n, s in services.items()
             if s.get("image") == "hashguard:local" or "build" in s]
    check(len(nodes) >= 2, "docker-compose.yml needs at least two hashguard nodes")
    lbs = [n for n, s in services.items()
           if re.match(r"(haproxy|nginx)(:|$)", str(s.get("image", "")))]
    check(len(lbs) == 1, "docker-compose.yml needs one load balancer (haproxy or nginx)")
    for n, s in services.items():
        hc = s.get("healthcheck", {})
        check(hc.get("test"), f"compose service {n} has no healthcheck")
    for n in nodes:
        s = services[n]
        where = f"compose service {n}"
        check(s.get("build", {}).get("dockerfile") == "docker/Dockerfile",
              f"{where} is not built from docker/Dockerfile")
        env = env_dict(s.get("environment"))
        check_env(env, settings, where)
        check(env.get("HG_HTTP_PORT", settings["http.port"]) == port,
              f"{where} listens on another port than the image's")
        args = listify(s.get("command"))
        check_args(args, settings, where)
        # The bootstrap admin key and the database URL come from a secret config file.
        node_secrets = [x if isinstance(x, str) else x.get("source") for x in s.get("secrets", [])]
        check(node_secrets, f"{where} has no secret")
        conf_args = [args[i + 1] for i, a in enumerate(args[:-1]) if a == "--config"]
        check(conf_args, f"{where} reads no --config file")
        for path in conf_args:
            name = Path(path).name
            check(path.startswith("/run/secrets/") and name in node_secrets,
                  f"{where}: --config {path} is not one of its secrets")
            if name in secrets:
                keys = config_file_keys(
                    (docker_dir / secrets[name]["file"]).read_text(encoding="utf-8"))
                for k in keys:
                    check(k in settings, f"secret {name}: {k} is not a serve setting")
                check("auth.bootstrap_key" in keys, f"secret {name} has no auth.bootstrap_key")
                check("database.url" in keys, f"secret {name} has no database.url")
                check(all("REPLACE-ME" in v for v in keys.values()),
                      f"secret {name} holds something other than placeholders")
        hc = " ".join(listify(s.get("healthcheck", {}).get("test")))
        check(f":{port}/readyz" in hc or f":{port}/healthz" in hc,
              f"{where} healthcheck does not probe the serve port")
        deps = s.get("depends_on", {})
        check(pg[0] in deps if pg else False, f"{where} does not depend on PostgreSQL")
        grace = str(s.get("stop_grace_period", "10s"))
        m = re.fullmatch(r"(\d+)s", grace)
        drain = int(env.get("HG_HTTP_DRAIN_TIMEOUT_MS", settings["http.drain_timeout_ms"]))
        check(m and int(m.group(1)) * 1000 > drain,
              f"{where}: stop_grace_period {grace} does not cover the drain ({drain} ms)")
    for n in lbs:
        s = services[n]
        mounts = [v for v in s.get("volumes", []) if isinstance(v, str) and v.startswith("./")]
        check(mounts, f"load balancer {n} mounts no config file from docker/")
        for v in mounts:
            cfg = docker_dir / v.split(":")[0]
            if check(cfg.is_file(), f"load balancer config {cfg} missing"):
                text = cfg.read_text(encoding="utf-8")
                for node in nodes:
                    check(re.search(rf"\b{re.escape(node)}:{port}\b", text),
                          f"{cfg.name} does not route to {node}:{port}")
                check("/readyz" in text, f"{cfg.name} does not check /readyz")
        check(all(x in s.get("depends_on", {}) for x in nodes),
              f"load balancer {n} does not wait for every node")


# ---- docker/k8s --------------------------------------------------------------------------


def quantity_bytes(q):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|K|M|G|T)?", str(q))
    if not m:
        return None
    scale = {None: 1, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
             "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4}[m.group(2)]
    return float(m.group(1)) * scale


def quantity_cpu(q):
    q = str(q)
    return float(q[:-1]) / 1000 if q.endswith("m") else float(q)


def check_k8s(objects, settings):
    before = len(failures)
    by_kind = {}
    for o in objects:
        check(isinstance(o, dict) and "kind" in o and "apiVersion" in o and
              o.get("metadata", {}).get("name"), f"k8s object without kind/apiVersion/name: {o}")
        by_kind.setdefault(o.get("kind"), []).append(o)
    for kind in ("Deployment", "Service", "ConfigMap", "Secret", "HorizontalPodAutoscaler",
                 "PodDisruptionBudget"):
        check(len(by_kind.get(kind, [])) == 1, f"docker/k8s needs exactly one {kind}")
    if len(failures) > before:
        return
    dep = by_kind["Deployment"][0]
    svc = by_kind["Service"][0]
    cm = by_kind["ConfigMap"][0]
    secret = by_kind["Secret"][0]
    hpa = by_kind["HorizontalPodAutoscaler"][0]
    pdb = by_kind["PodDisruptionBudget"][0]

    spec = dep["spec"]
    pod = spec["template"]["spec"]
    labels = spec["template"]["metadata"]["labels"]
    check(spec["selector"]["matchLabels"].items() <= labels.items(),
          "Deployment selector does not match its pod labels")
    containers = pod["containers"]
    check(len(containers) == 1, "Deployment should run one container")
    c = containers[0]

    # The config the pod runs with: the ConfigMap's file (when mounted and passed to --config)
    # over the serve defaults.
    conf = dict(settings)
    mounts = {m["name"]: m["mountPath"] for m in c.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    args = [str(a) for a in c.get("args", [])]
    check_args(args, settings, "Deployment args")
    conf_paths = [args[i + 1] for i, a in enumerate(args[:-1]) if a == "--config"]
    for path in conf_paths:
        found = False
        for vname, mpath in mounts.items():
            v = volumes.get(vname, {})
            if "configMap" in v and path.startswith(mpath.rstrip("/") + "/"):
                check(v["configMap"]["name"] == cm["metadata"]["name"],
                      "Deployment mounts another ConfigMap than configmap.yaml's")
                fname = path[len(mpath.rstrip("/")) + 1:]
                if check(fname in cm.get("data", {}), f"ConfigMap has no {fname}"):
                    keys = config_file_keys(cm["data"][fname])
                    for k, value in keys.items():
                        if check(k in settings, f"ConfigMap: {k} is not a serve setting"):
                            conf[k] = value
                found = True
        check(found, f"--config {path} is not a mounted ConfigMap file")

    env = {e["name"]: e for e in c.get("env", [])}
    check_env(env, settings, "Deployment env")
    secret_keys = set(secret.get("stringData", {})) | set(secret.get("data", {}))
    for name, e in env.items():
        ref = e.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            check(ref["name"] == secret["metadata"]["name"] and ref["key"] in secret_keys,
                  f"Deployment env {name} refers to a missing secret key")
    for needed in ("HG_AUTH_BOOTSTRAP_KEY", "HG_DATABASE_URL", "HG_EVIDENCE_KEY"):
        check("secretKeyRef" in env.get(needed, {}).get("valueFrom", {}),
              f"Deployment: {needed} does not come from the Secret")
    for k, v in secret.get("stringData", {}).items():
        check("REPLACE-ME" in str(v), f"Secret {k} is not a placeholder")
    check("data" not in secret, "Secret has base64 data: keep placeholders in stringData")

    port = int(conf["http.port"])
    check(conf.get("http.address") == "0.0.0.0", "the pod's config does not listen on 0.0.0.0")
    ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
    check(port in ports.values(), f"containerPort does not match http.port {port}")

    def probe_port(p):
        v = p["httpGet"]["port"]
        return ports.get(v) if isinstance(v, str) else v

    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        p = c.get(probe)
        if check(p and "httpGet" in p, f"Deployment has no HTTP {probe}"):
            check(p["httpGet"]["path"] == path, f"{probe} path is {p['httpGet']['path']}")
            check(probe_port(p) == port, f"{probe} port does not match http.port {port}")
    if "startupProbe" in c:
        check(probe_port(c["startupProbe"]) == port, "startupProbe port mismatch")

    res = c.get("resources", {})
    for part in ("requests", "limits"):
        for r in ("cpu", "memory"):
            check(r in res.get(part, {}), f"Deployment resources.{part}.{r} missing")
    if len(failures) == before:
        req_mem = quantity_bytes(res["requests"]["memory"])
        lim_mem = quantity_bytes(res["limits"]["memory"])
        # 10M PDQ hashes: 320 MB + MIH tables ~870 MB; two snapshots during a rebuild.
        check(req_mem >= 1.5 * 1024**3, "memory request too small for a 10M-hash snapshot")
        check(lim_mem >= 2 * 1.2e9 + 0.5 * 1024**3,
              "memory limit cannot hold two 10M-hash snapshots during a rebuild")
        check(lim_mem >= req_mem, "memory limit below the request")
        check(quantity_cpu(res["limits"]["cpu"]) >= quantity_cpu(res["requests"]["cpu"]),
              "cpu limit below the request")

    sc = {**pod.get("securityContext", {}), **c.get("securityContext", {})}
    check(sc.get("runAsNonRoot") is True, "pod does not set runAsNonRoot")
    check(sc.get("runAsUser", 0) != 0, "pod runs as uid 0")
    check(sc.get("allowPrivilegeEscalation") is False, "container allows privilege escalation")

    grace = pod.get("terminationGracePeriodSeconds", 30)
    pre = c.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
    pre_sleep = int(pre[1]) if len(pre) == 2 and pre[0] == "sleep" else 0
    drain_ms = int(conf["http.drain_timeout_ms"])
    check(grace * 1000 >= pre_sleep * 1000 + drain_ms + 5000,
          f"terminationGracePeriodSeconds {grace} < preStop {pre_sleep} s + drain "
          f"{drain_ms} ms + 5 s")

    sspec = svc["spec"]
    check(sspec["selector"].items() <= labels.items(), "Service selector misses the pods")
    for p in sspec["ports"]:
        t = p.get("targetPort", p["port"])
        check((ports.get(t) if isinstance(t, str) else t) == port,
              "Service targetPort is not the serve port")

    ref = hpa["spec"]["scaleTargetRef"]
    check(ref["kind"] == "Deployment" and ref["name"] == dep["metadata"]["name"],
          "HPA does not target the Deployment")
    check(hpa["apiVersion"] == "autoscaling/v2", "HPA should be autoscaling/v2")
    check(hpa["spec"].get("minReplicas", 1) >= 2, "HPA minReplicas below 2")
    check(hpa["spec"]["maxReplicas"] >= hpa["spec"].get("minReplicas", 1), "HPA max < min")
    check(hpa["spec"].get("metrics"), "HPA has no metrics")

    check(pdb["apiVersion"] == "policy/v1", "PDB should be policy/v1")
    check(pdb["spec"]["selector"]["matchLabels"].items() <= labels.items(),
          "PDB selector misses the pods")
    check("minAvailable" in pdb["spec"] or "maxUnavailable" in pdb["spec"],
          "PDB has neither minAvailable nor maxUnavailable")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source-dir", required=True, type=Path)
    ap.add_argument("--hashguard", required=True)
    a = ap.parse_args()
    src = a.source_dir.resolve()
    settings = serve_settings(a.hashguard)
    for key in ("http.port", "http.drain_timeout_ms", "auth.bootstrap_key", "database.url"):
        check(key in settings, f"`hashguard serve --help` lists no {key}")
    if failures:
        return report()
    docs = load_all_yaml(src / "docker")
    install_deps_lists(src, a.hashguard)
    port = check_dockerfile(src, settings)
    compose = docs.get(src / "docker" / "docker-compose.yml")
    if check(compose, "docker/docker-compose.yml missing"):
        check_compose(src, compose[0], settings, port)
    k8s = [o for f, ds in docs.items() if (src / "docker" / "k8s") in f.parents for o in ds]
    check_k8s(k8s, settings)
    n = sum(len(d) for d in docs.values())
    return report(f"{len(docs)} YAML files, {n} documents, {len(k8s)} Kubernetes objects")


def report(summary=""):
    if failures:
        for f in failures:
            print("FAIL:", f)
        return 1
    print("check_deploy: OK:", summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
