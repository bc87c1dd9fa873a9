#!/usr/bin/env bash
# Vendors three.js for the live view (docs/monitoring.md, "The live view") from its npm package:
# the two ES-module builds the page imports, the orbit controls and the package's LICENSE go
# to assets/view/vendor/, with VERSION naming the package, its version and npm's integrity
# hash. The binary embeds these files (src/observe/view/server.rs), so a run needs no network.
#
#   assets/view/update-three.sh            # the version in assets/view/vendor/VERSION
#   assets/view/update-three.sh 0.181.0    # another version
#
# Needs npm (it downloads through `npm pack`, which checks the tarball against the registry's
# integrity hash). Rebuild snnsim afterwards and run .ci/view, which drives the page in
# chromium.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
vendor="$here/vendor"
version="${1:-$(sed -n 's/^three@\([^ ]*\).*/\1/p' "$vendor/VERSION" 2>/dev/null || true)}"
if [ -z "$version" ]; then
    echo "usage: $0 VERSION (no version in $vendor/VERSION)" >&2
    exit 2
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
integrity="$(npm pack "three@$version" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["integrity"])')"
tar xzf "three-$version.tgz"
mkdir -p "$vendor"
cp package/build/three.module.min.js package/build/three.core.min.js "$vendor/"
cp package/examples/jsm/controls/OrbitControls.js "$vendor/"
cp package/LICENSE "$vendor/LICENSE-three"
echo "three@$version $integrity" >"$vendor/VERSION"
echo "vendored three@$version into $vendor"
