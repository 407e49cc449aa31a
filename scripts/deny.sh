#!/usr/bin/env bash
# cargo-deny on the workspace (policy: deny.toml): licenses, duplicate
# versions, banned crates, sources, and RustSec advisories.
#
# The advisory database is a git repository on GitHub. Where it can be
# fetched (or a copy is already in $CARGO_HOME/advisory-dbs), advisories are
# checked like everything else. This project's machines reach only package
# registries, so the fetch fails there: then the other checks still run and
# this says, loudly, that advisories were NOT checked and why. It never
# pretends they passed. DENY_REQUIRE_ADVISORIES=1 makes that a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

version=0.20.2
if ! cargo deny --version 2>/dev/null | grep -q "$version"; then
  echo "==> installing cargo-deny $version"
  cargo install --locked cargo-deny --version "$version"
fi

if cargo deny --log-level error check advisories 2>/tmp/cargo-deny-advisories.$$; then
  echo "cargo-deny: advisories checked against the RustSec database"
  advisories=checked
else
  if grep -qiE "fetch|clone|network|resolve|connect|could not|failed to open" /tmp/cargo-deny-advisories.$$ \
     && ! grep -q "error\[vulnerability\]\|error\[unmaintained\]\|error\[yanked\]" /tmp/cargo-deny-advisories.$$; then
    echo "cargo-deny: ADVISORIES NOT CHECKED: the RustSec advisory database (a git repository" \
         "on GitHub) cannot be fetched from this machine:" >&2
    head -5 /tmp/cargo-deny-advisories.$$ >&2
    advisories=unchecked
  else
    cat /tmp/cargo-deny-advisories.$$ >&2
    rm -f /tmp/cargo-deny-advisories.$$
    exit 1
  fi
fi
rm -f /tmp/cargo-deny-advisories.$$
cargo deny --log-level warn check bans licenses sources
if [ "$advisories" = unchecked ] && [ "${DENY_REQUIRE_ADVISORIES:-0}" = 1 ]; then
  echo "DENY_REQUIRE_ADVISORIES=1 and advisories could not be checked" >&2
  exit 1
fi
