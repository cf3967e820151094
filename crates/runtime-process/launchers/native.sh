# Whirl native launcher (blackbox / dockerskeleton actions), POSIX sh only.
#
# Started as `sh -c <this script> native-launcher <code-dir> [<code-source-dir>]`. Requests on stdin:
#   "init N" followed by N lines KEY=VALUE (exported for every later run), reply {"ok":true} on fd 3
#   (with a source dir, the code is first copied from it into the code dir);
#   "run N" followed by N lines KEY=VALUE (the __OW_* activation variables) and one line with the
#   input JSON, which is passed to ./exec as argv[1]. Every stdout line of exec but the last one is
#   a log line; the last one is written on fd 3 as the result. Sentinels follow every request.
S=XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX
cd "$1" || exit 1
printf '{"ok":true}\n' >&3
while IFS=' ' read -r cmd n; do
  # A variable of the previous activation that this one lacks must not leak.
  if [ "$cmd" = run ]; then unset __OW_API_KEY; fi
  i=0
  while [ "$i" -lt "$n" ]; do
    IFS= read -r kv || exit 0
    export "$kv"
    i=$((i + 1))
  done
  case "$cmd" in
    init)
      if [ -n "$2" ] && ! cp -R -P "$2/." . >&2; then
        echo "$S"
        echo "$S" >&2
        printf '!{"error":"Initialization has failed due to: the code could not be copied into the action directory."}\n' >&3
        continue
      fi
      echo "$S"
      echo "$S" >&2
      printf '{"ok":true}\n' >&3
      ;;
    run)
      IFS= read -r value || exit 0
      ./exec "$value" </dev/null | {
        have=
        last=
        while IFS= read -r line || [ -n "$line" ]; do
          if [ -n "$have" ]; then printf '%s\n' "$last"; fi
          last=$line
          have=1
        done
        echo "$S"
        echo "$S" >&2
        printf '%s\n' "$last" >&3
      }
      ;;
    *)
      exit 2
      ;;
  esac
done
