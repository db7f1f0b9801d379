# Shared by the wasm build and test scripts (sourced, not run).
#
#   wasm_install_tools            adds the rust target and installs the wasm-bindgen CLI of
#                                 the version in Cargo.lock when it is missing or another
#                                 version (every script that runs wasm-bindgen calls it)
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
