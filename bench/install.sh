#!/bin/sh
# Install what bench/overhead.py drives, at pinned versions, into ignored
# folders of bench/: the load generator oha (bench/.tools) and the peer
# gateways LiteLLM and Portkey (bench/.peers). Each is installed once, and
# again when its version here changes. `make bench` runs this first.
set -eu

OHA_VERSION=1.16.0
LITELLM_VERSION=1.106.12
PORTKEY_VERSION=1.15.2

cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}

if ! .tools/bin/oha --version 2>/dev/null | grep -q "$OHA_VERSION"; then
    echo "installing oha $OHA_VERSION into bench/.tools"
    cargo install oha --version "$OHA_VERSION" --locked --root .tools
fi

LITELLM=.peers/litellm/venv
if [ "$("$LITELLM/bin/python" -c 'import importlib.metadata as m; print(m.version("litellm"))' 2>/dev/null)" != "$LITELLM_VERSION" ]; then
    echo "installing litellm[proxy] $LITELLM_VERSION into bench/.peers/litellm"
    "$PYTHON" -m venv "$LITELLM"
    "$LITELLM/bin/pip" install --quiet --disable-pip-version-check "litellm[proxy]==$LITELLM_VERSION"
fi

PORTKEY=.peers/portkey
PACKAGE=$PORTKEY/node_modules/@portkey-ai/gateway/package.json
if ! grep -q "\"version\": \"$PORTKEY_VERSION\"" "$PACKAGE" 2>/dev/null; then
    echo "installing @portkey-ai/gateway $PORTKEY_VERSION into bench/.peers/portkey"
    mkdir -p "$PORTKEY"
    npm install --prefix "$PORTKEY" --no-audit --no-fund "@portkey-ai/gateway@$PORTKEY_VERSION"
fi
