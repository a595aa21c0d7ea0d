#!/usr/bin/env bash
# Re-vendor htmx from the npm package htmx.org: static/vendor/htmx-$VERSION.min.js and its note.
# Usage: scripts/vendor-htmx.sh [VERSION]   (needs npm; run from anywhere)
set -euo pipefail
version="${1:-2.0.11}"
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "htmx.org@$version" >/dev/null && tar -xzf htmx.org-"$version".tgz)
target="$root/static/vendor/htmx-$version.min.js"
cp "$work/package/dist/htmx.min.js" "$target"
sha="$(sha256sum "$target" | cut -d' ' -f1)"
cat > "$root/static/vendor/README.md" <<NOTE
# Vendored assets

| file | version | source | sha256 |
|---|---|---|---|
| htmx-$version.min.js | $version | npm package \`htmx.org@$version\`, \`dist/htmx.min.js\` | $sha |

Re-vendor with \`scripts/vendor-htmx.sh VERSION\`; tests/test_vendor.py checks the hash.
NOTE
echo "vendored htmx $version ($sha)"
