#!/usr/bin/env python3
"""Checks that docker-compose.yml does what the README's Docker section says.

Usage: python3 tests/compose/check_compose.py [PATH/TO/docker-compose.yml]

Without an argument it reads the repository's docker-compose.yml. The
Dockerfile is looked up in the `sesame` service's build context, relative to
the compose file, as Docker Compose does. The subcommands the binary accepts
are read from src/main.rs of this repository.

Checked:
- services `db` and `sesame`, each with `image` or `build`;
- sesame: DATABASE_URL points at the `db` service (with db's user, password
  and database), SESAME_JWT_SECRET is required through
  `${SESAME_JWT_SECRET:?message}`, SESAME_BIND is 0.0.0.0:8080, a port is
  published to the container's 8080, and it depends on db being
  `service_healthy`;
- db: a healthcheck and a volume (named volumes declared at the top level);
- the Dockerfile exists, its final stage puts the binary on PATH, and the
  compose `command` runs that binary with a subcommand it has.

Prints "compose: ok" and exits 0, or lists every failure and exits 1.
"""

import json
import os
import re
import shlex
import sys
from urllib.parse import urlsplit

import yaml

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
STANDARD_PATH = {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}


def environment(service):
    """A service's environment as a dict, from either of compose's forms."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = {}
        for item in env:
            name, _, value = str(item).partition("=")
            pairs[name] = value
        return pairs
    return {str(k): ("" if v is None else str(v)) for k, v in env.items()}


def container_ports(service):
    """The container side of each published port."""
    ports = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            ports.append(str(entry.get("target", "")))
        else:
            spec = str(entry).split("/")[0]
            ports.append(spec.rsplit(":", 1)[-1])
    return ports


def as_words(value):
    if value is None:
        return None
    if isinstance(value, str):
        return shlex.split(value)
    return [str(v) for v in value]


def json_or_shell(text):
    """ENTRYPOINT/CMD arguments, exec form (JSON array) or shell form."""
    text = text.strip()
    if text.startswith("["):
        return [str(v) for v in json.loads(text)]
    return ["/bin/sh", "-c", text]


def final_stage(dockerfile):
    """The instructions of the Dockerfile's last stage, continuation lines joined."""
    with open(dockerfile, encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r"\\\n", " ", text)
    stages = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        word = word.upper()
        if word == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((word, rest.strip()))
    return stages[-1] if stages else []


def subcommands():
    """The CLI's subcommands, from `enum Command` in src/main.rs (clap: kebab-case)."""
    path = os.path.join(REPO, "src", "main.rs")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    block = re.search(r"enum Command \{(.*?)\n\}", text, re.S)
    if not block:
        return None
    names = re.findall(r"^    ([A-Z][A-Za-z0-9]*)\b", block.group(1), re.M)
    return {re.sub(r"(?<!^)([A-Z])", r"-\1", n).lower() for n in names}


def check(compose_path):
    problems = []
    with open(compose_path, encoding="utf-8") as f:
        compose = yaml.safe_load(f)
    if not isinstance(compose, dict):
        return [f"{compose_path}: not a YAML mapping"]
    services = compose.get("services") or {}
    for name in ("db", "sesame"):
        if name not in services:
            problems.append(f"no `{name}` service")
    for name, service in services.items():
        if not isinstance(service, dict) or not ("image" in service or "build" in service):
            problems.append(f"service `{name}` has neither `image` nor `build`")
    if problems:
        return problems
    db, app = services["db"], services["sesame"]
    db_env, env = environment(db), environment(app)

    # DATABASE_URL: the db service, with its credentials.
    url = env.get("DATABASE_URL")
    if not url:
        problems.append("sesame: DATABASE_URL is not set")
    else:
        parts = urlsplit(url)
        if parts.scheme not in ("postgres", "postgresql"):
            problems.append(f"sesame: DATABASE_URL {url!r} is not a postgres:// URL")
        if parts.hostname != "db":
            problems.append(f"sesame: DATABASE_URL points at {parts.hostname!r}, not the `db` service")
        if parts.port not in (None, 5432):
            problems.append(f"sesame: DATABASE_URL uses port {parts.port}, PostgreSQL listens on 5432")
        expected = {
            "user": (parts.username, db_env.get("POSTGRES_USER", "postgres")),
            "password": (parts.password, db_env.get("POSTGRES_PASSWORD")),
            "database": (parts.path.lstrip("/"), db_env.get("POSTGRES_DB", db_env.get("POSTGRES_USER", "postgres"))),
        }
        for what, (got, want) in expected.items():
            if got != want:
                problems.append(f"sesame: DATABASE_URL's {what} {got!r} differs from db's {want!r}")

    # The JWT secret: required from the environment, never written in the file.
    secret = env.get("SESAME_JWT_SECRET", "")
    if not re.fullmatch(r"\$\{SESAME_JWT_SECRET:\?[^}]+\}", secret):
        problems.append(
            "sesame: SESAME_JWT_SECRET must be `${SESAME_JWT_SECRET:?message}` "
            f"(required from the environment), found {secret!r}"
        )

    # Listening address and published port.
    if env.get("SESAME_BIND") != "0.0.0.0:8080":
        problems.append(f"sesame: SESAME_BIND must be 0.0.0.0:8080, found {env.get('SESAME_BIND')!r}")
    if "8080" not in container_ports(app):
        problems.append("sesame: no port published to the container's 8080")

    # Start order: db healthy first.
    depends = app.get("depends_on")
    condition = depends.get("db", {}).get("condition") if isinstance(depends, dict) else None
    if condition != "service_healthy":
        problems.append("sesame: depends_on must name db with `condition: service_healthy`")

    # db: healthcheck and volume.
    health = db.get("healthcheck") or {}
    if not health.get("test") or health.get("disable"):
        problems.append("db: no healthcheck")
    volumes = db.get("volumes") or []
    if not volumes:
        problems.append("db: no volume (the data would not outlive the container)")
    declared = compose.get("volumes") or {}
    for volume in volumes:
        source = volume.get("source") if isinstance(volume, dict) else str(volume).split(":")[0]
        named = source and not source.startswith((".", "/", "~"))
        if named and source not in declared:
            problems.append(f"db: volume `{source}` is not declared under the top-level `volumes`")

    # The image: Dockerfile, binary on PATH, the command it runs.
    build = app.get("build")
    if build is None:
        problems.append("sesame: no `build` (the README builds the image with `docker compose up --build`)")
        return problems
    if isinstance(build, str):
        context, dockerfile_name = build, "Dockerfile"
    else:
        context, dockerfile_name = build.get("context", "."), build.get("dockerfile", "Dockerfile")
    base = os.path.dirname(os.path.abspath(compose_path))
    dockerfile = os.path.join(base, context, dockerfile_name)
    if not os.path.isfile(dockerfile):
        problems.append(f"sesame: no Dockerfile at {os.path.relpath(dockerfile)}")
        return problems
    stage = final_stage(dockerfile)
    path_dirs = set(STANDARD_PATH)
    binaries = {}
    entrypoint, cmd = None, None
    for word, rest in stage:
        if word == "ENV":
            match = re.search(r"\bPATH=(\S+)", rest)
            if match:
                path_dirs |= set(match.group(1).replace("$PATH", "").strip(":").split(":"))
        elif word == "COPY" and "--from=" in rest:
            args = [a for a in shlex.split(rest) if not a.startswith("--")]
            if len(args) >= 2:
                source, target = args[0], args[-1]
                if target.endswith("/"):
                    target = target + os.path.basename(source.rstrip("/"))
                binaries[os.path.basename(target)] = target
        elif word == "ENTRYPOINT":
            entrypoint = json_or_shell(rest)
        elif word == "CMD":
            cmd = json_or_shell(rest)
    if not binaries:
        problems.append("Dockerfile: the final stage copies no binary from a build stage")
        return problems

    entry = as_words(app.get("entrypoint")) or entrypoint
    command = as_words(app.get("command")) or cmd or []
    run = (entry or []) + command
    if not run:
        problems.append("sesame: neither the compose file nor the Dockerfile says what to run")
        return problems
    program = run[0]
    name = os.path.basename(program)
    if name not in binaries:
        problems.append(
            f"sesame runs {program!r}, but the Dockerfile's final stage provides {sorted(binaries)}"
        )
        return problems
    installed = binaries[name]
    if "/" not in program and os.path.dirname(installed) not in path_dirs:
        problems.append(f"Dockerfile: {installed} is not on PATH, yet it is run as {program!r}")
    elif "/" in program and program != installed:
        problems.append(f"sesame runs {program}, but the binary is installed at {installed}")
    known = subcommands()
    if known is not None and name == "sesame":
        sub = run[1] if len(run) > 1 else None
        if sub not in known:
            problems.append(f"sesame: `{' '.join(run)}` names no subcommand of sesame ({', '.join(sorted(known))})")
    return problems


def main():
    compose_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "docker-compose.yml")
    try:
        problems = check(compose_path)
    except (OSError, yaml.YAMLError) as error:
        problems = [str(error)]
    if problems:
        print(f"compose: {compose_path} does not do what the README says:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        sys.exit(1)
    print("compose: ok")


if __name__ == "__main__":
    main()
