# Shared by check-install and check-package (sourced): checks on an installed baton.
# Every check prints what it looked at and exits non-zero when it does not hold.

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# has_debug_info FILE: true when the ELF FILE has a .debug_info section. (Not a pipe into
# grep -q: under pipefail, readelf killed by SIGPIPE would make the answer false.)
has_debug_info() {
  local sections
  sections=$(readelf --section-headers --wide "$1") || fail "readelf $1"
  [[ $sections == *' .debug_info '* ]]
}

# check_stripped BUILT INSTALLED: BUILT has debug info (so the check can tell) and
# INSTALLED has none, and `file` calls it stripped.
check_stripped() {
  has_debug_info "$1" || fail "$1 has no .debug_info: the stripping check proves nothing"
  if has_debug_info "$2"; then fail "$2 still has .debug_info"; fi
  [[ $(file "$2") == *', stripped'* ]] || fail "file(1) does not call $2 stripped: $(file "$2")"
  echo "ok: $2 stripped ($(stat -c %s "$1") -> $(stat -c %s "$2") bytes)"
}

# check_version BATON VERSION: `BATON --version` prints `baton VERSION`.
check_version() {
  local got
  got=$("$1" --version) || fail "$1 --version exited $?"
  [ "$got" = "baton $2" ] || fail "$1 --version printed '$got', not 'baton $2'"
  echo "ok: $got"
}

# check_man_page BATON PAGE: PAGE renders with man(1), without troff warnings, and
# documents every subcommand `BATON --help` lists, and the exit codes.
check_man_page() {
  local rendered warnings commands cmd
  warnings=$(MANWIDTH=100 man --warnings -l "$2" 2>&1 >/dev/null) || fail "man -l $2 failed"
  [ -z "$warnings" ] || fail "man -l $2 warns: $warnings"
  rendered=$(MANWIDTH=100 MAN_KEEP_FORMATTING= man -l "$2" 2>/dev/null | col -b)
  grep -q '^NAME' <<<"$rendered" || fail "no NAME section in the rendered $2"
  grep -q '^EXIT STATUS' <<<"$rendered" || fail "no EXIT STATUS section in the rendered $2"
  grep -q 'interrupted by SIGINT' <<<"$rendered" || fail "exit code 130 missing from $2"
  # The subcommands --help lists: the lines after "Subcommands:" up to the end.
  commands=$("$1" --help | sed -n '/^Subcommands:/,$p' | awk 'NR > 1 && NF {print $1}')
  [ -n "$commands" ] || fail "no subcommands in $1 --help"
  for cmd in $commands; do
    grep -q "^   baton $cmd\b" <<<"$rendered" || fail "the man page does not document 'baton $cmd'"
  done
  echo "ok: man -l $2 renders and documents $(wc -w <<<"$commands") commands and the exit codes"
}

# check_bash_completion FILE: sourcing FILE registers _baton for baton, and the
# function completes subcommands, nested subcommands and options.
check_bash_completion() {
  local got
  got=$(bash -c 'source "$1" && complete -p baton' _ "$1") || fail "sourcing $1 failed"
  [ "$got" = "complete -o default -F _baton baton" ] || fail "complete -p baton: '$got'"
  got=$(bash -c 'source "$1"; COMP_WORDS=(baton ru); COMP_CWORD=1; _baton; echo "${COMPREPLY[*]}"' \
    _ "$1")
  [ "$got" = "run" ] || fail "'baton ru<TAB>' completes to '$got', not 'run'"
  got=$(bash -c 'source "$1"; COMP_WORDS=(baton audit ""); COMP_CWORD=2; _baton
    echo "${COMPREPLY[*]}"' _ "$1")
  [ "$got" = "verify export" ] || fail "'baton audit <TAB>' completes to '$got'"
  got=$(bash -c 'source "$1"; COMP_WORDS=(baton run --reh); COMP_CWORD=2; _baton
    echo "${COMPREPLY[*]}"' _ "$1")
  [ "$got" = "--rehearse" ] || fail "'baton run --reh<TAB>' completes to '$got'"
  echo "ok: $1 completes commands, nested commands and options"
}

# check_zsh_completion FILE: a #compdef file for baton that zsh parses, and, in an
# interactive zsh on a pseudo-terminal (zpty) with FILE's directory in $fpath, TAB lists
# nested commands and completes options. Each read waits for its text (zpty -r -m), and
# timeout(1) bounds the whole check.
check_zsh_completion() {
  head -n 1 "$1" | grep -qx '#compdef baton' || fail "$1 does not start with #compdef baton"
  command -v zsh >/dev/null || fail "no zsh (scripts/setup installs it)"
  zsh -n "$1" || fail "zsh -n $1"
  local dir
  dir=$(mktemp -d)
  cp "$1" "$dir/_baton"
  # shellcheck disable=SC2016  # $'...' and $fpath are zsh's, inside the zsh script
  timeout 20 zsh -f -c '
    zmodload zsh/zpty
    zpty z zsh -f -i
    zpty -w z "PS1=\"%% \"; fpath=($1 \$fpath); autoload -Uz compinit; compinit -u -D"
    zpty -w -n z $'"'"'baton audit \t'"'"'
    zpty -r -m z out "*verify  -- Recompute*" || exit 1
    zpty -w -n z $'"'"'\x15baton run --js\t'"'"'
    zpty -r -m z out "*--json*" || exit 2
    zpty -d z' _ "$dir" >/dev/null ||
    { rm -rf "$dir"; fail "zsh does not complete 'baton audit <TAB>' or 'baton run --js<TAB>' with $1"; }
  rm -rf "$dir"
  echo "ok: $1 completes nested commands and options in zsh"
}

# check_runs_with_supervisor_beside BATON DIR: a two-task workflow succeeds in a fresh git
# repository DIR, and its tasks were supervised by baton-supervise beside BATON (not by
# the `baton __supervise` fallback): a task's parent process is the supervisor.
check_runs_with_supervisor_beside() {
  local baton=$1 dir=$2 out supervisor
  mkdir -p "$dir"
  git -C "$dir" init -q
  cat >"$dir/flow.yaml" <<'YAML'
version: "1.0"
name: installed
tasks:
  - id: hello
    run: echo hello from an installed baton
  - id: supervisor
    dependencies: [hello]
    run: readlink /proc/$PPID/exe
YAML
  out=$(cd "$dir" && "$baton" run --plain flow.yaml 2>&1) || fail "baton run exited $?: $out"
  supervisor=$(cd "$dir" && "$baton" logs last supervisor) || fail "baton logs exited $?"
  [ "$supervisor" = "$(realpath "$(dirname "$baton")")/baton-supervise" ] ||
    fail "the tasks were supervised by '$supervisor', not $(dirname "$baton")/baton-supervise"
  echo "ok: a workflow ran under $supervisor"
}
