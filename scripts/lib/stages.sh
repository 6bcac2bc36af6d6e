# Stage clock for scripts/test (sourced): `stage NAME` ends the running stage
# and starts the next; each stage prints its wall time and the CPU time (user
# + sys) of the processes it ran, and the run ends with a table of all stages
# and the total, also when a stage fails. CPU time is that of finished child
# processes of this shell (and theirs), from /proc/$$/stat.

stage_clock_ticks="$(getconf CLK_TCK)"
stage_rows=()
stage_name=""
stage_run_started="${EPOCHREALTIME/./}"

# User + sys clock ticks of this shell's waited-for children.
stage_children_ticks() {
  local s
  read -ra s </proc/$$/stat
  echo $((s[15] + s[16]))
}
# Microseconds as m:ss.
stage_fmt_us() {
  local s=$(($1 / 1000000))
  printf '%d:%02d' $((s / 60)) $((s % 60))
}
stage_end() {
  local wall=$((${EPOCHREALTIME/./} - stage_started))
  local cpu=$((($(stage_children_ticks) - stage_ticks) * 1000000 / stage_clock_ticks))
  stage_rows+=("$(printf '%-44s %7s %7s %s' "$stage_name" "$(stage_fmt_us $wall)" "$(stage_fmt_us $cpu)" "${1:-}")")
  echo "-- $stage_name: $(stage_fmt_us $wall) wall, $(stage_fmt_us $cpu) CPU${1:+ ($1)}"
  stage_name=""
}
stage() {
  [ -z "$stage_name" ] || stage_end
  stage_name="$1"
  stage_started="${EPOCHREALTIME/./}"
  stage_ticks="$(stage_children_ticks)"
  echo "== $1"
}
# The table; call from an EXIT trap with the exit status as $1.
stage_summary() {
  [ -z "$stage_name" ] || stage_end "$([ "$1" = 0 ] || echo failed)"
  echo "== stage times (m:ss; CPU is user + sys of the stage's processes)"
  printf '%-44s %7s %7s\n' stage wall CPU
  printf '%s\n' "${stage_rows[@]}"
  printf '%-44s %7s %7s\n' total "$(stage_fmt_us $((${EPOCHREALTIME/./} - stage_run_started)))" \
    "$(stage_fmt_us $(($(stage_children_ticks) * 1000000 / stage_clock_ticks)))"
}
