# bash completion for the ingestkit tools (dqcheck, envcheck, ingestor,
# polygon-replay): long options as the program's --help lists them, the
# ingestor's commands, and file names elsewhere.
_ingestkit_tool()
{
    local cur=${COMP_WORDS[COMP_CWORD]} cmd=${COMP_WORDS[0]}
    if [[ $cmd == *ingestor && $COMP_CWORD -eq 1 && $cur != -* ]]; then
        COMPREPLY=($(compgen -W "migrate backfill status report run enqueue check-config" -- "$cur"))
        return
    fi
    if [[ $cur == -* ]]; then
        local opts
        opts=$("$cmd" --help 2>/dev/null | grep -o -- '--[a-z][a-z-]*' | sort -u)
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        return
    fi
    COMPREPLY=($(compgen -f -- "$cur"))
}
complete -o filenames -F _ingestkit_tool dqcheck envcheck ingestor polygon-replay
