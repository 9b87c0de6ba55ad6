#!/usr/bin/env bash
# Install the Debian/Ubuntu packages rai-audit needs, only those missing (fast when done).
#   scripts/system-packages.sh          what the audit needs: venv support, Pango for the PDF
#   scripts/system-packages.sh --test   also what the tests use to look at the reports as a
#                                       person sees them: Chromium, its driver, poppler; and
#                                       a Java runtime for the Spark engine's tests (pyspark
#                                       starts a JVM), unless a `java` is already on PATH
set -euo pipefail

packages=(libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core)
if [ "${1:-}" = "--test" ]; then
  packages+=(chromium chromium-driver poppler-utils)
  # Any Java already installed will do (17 or newer); Debian's default is 17 on bookworm.
  command -v java >/dev/null 2>&1 || packages+=(default-jre-headless)
fi
# Debian's python3 has no venv/ensurepip until python3-venv (or python3.X-venv) is installed.
if ! python3 -c "import ensurepip, venv" >/dev/null 2>&1; then
  version=$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
  packages+=("python${version}-venv")
fi

if ! command -v dpkg >/dev/null 2>&1; then
  echo "Not a Debian/Ubuntu system: install Pango (for WeasyPrint's PDF) yourself; see README." >&2
  exit 0
fi
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "Missing system packages: ${missing[*]}. Install them as root:" >&2
  echo "  apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "Installing system packages: ${missing[*]}" >&2
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
