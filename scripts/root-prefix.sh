#!/usr/bin/env bash
# Sourced by the scripts that install a Debian package when it is missing: root_prefix prints how to run a command
# as root here ("env" for root, "sudo env" with sudo) and fails when this is no Debian system or root is out of reach.
root_prefix() {
  command -v apt-get >/dev/null 2>&1 || return 1
  if [ "$(id -u)" -eq 0 ]; then echo "env"
  elif command -v sudo >/dev/null 2>&1; then echo "sudo env"
  else return 1
  fi
}
