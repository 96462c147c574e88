#!/usr/bin/env bash
# The Debian packages the tests and the demo need: git (the git integration's tests), ripgrep and libkrb5-dev for
# installing code-server (a real VS Code), chromium to drive its workbench headless, pngquant
# to keep the screenshots the UI test writes small (the .vsix carries them), unzip for the release
# script to read the version back from the .vsix, gnupg for the SOPS tests (the sops CLI's own fixtures
# have their data key wrapped for sops's public test PGP key; gpg unwraps it to give them a KMS recipient).
# Installs what is missing when run as root on Debian/Ubuntu; elsewhere says what to install.
set -euo pipefail
command -v dpkg >/dev/null 2>&1 || { echo "system-deps: not a Debian system; install chromium and ripgrep yourself (see README)"; exit 0; }
need=()
for pkg in git chromium ripgrep libkrb5-dev pngquant unzip gnupg; do dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg"); done
((${#need[@]})) || exit 0
if [ "$(id -u)" != 0 ]; then
  echo "system-deps: missing Debian packages: ${need[*]}; run: sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "system-deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
