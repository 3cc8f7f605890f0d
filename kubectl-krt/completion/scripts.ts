// Shell completion scripts for the kubectl-krt executable. Each asks `kubectl-krt __complete`
// (cobra's protocol, the same kubectl's plugin completion uses through kubectl_complete-krt), so
// the logic lives in one place.

export const Shell = {
  Bash: 'bash',
  Zsh: 'zsh',
  Fish: 'fish',
} as const;
export type Shell = (typeof Shell)[keyof typeof Shell];

const BASH = String.raw`# bash completion for kubectl-krt
# Load it with:  source <(kubectl krt completion bash)
# "kubectl krt <TAB>" works without this on kubectl >= 1.26 through kubectl_complete-krt.
_kubectl_krt() {
  local cur="@{COMP_WORDS[COMP_CWORD]}"
  local out directive
  out=$(kubectl-krt __complete "@{COMP_WORDS[@]:1:COMP_CWORD-1}" "$cur" 2>/dev/null) || return
  directive=@{out##*$'\n'}
  directive=@{directive#:}
  if [[ "$out" == *$'\n'* ]]; then out=@{out%$'\n'*}; else out=''; fi
  COMPREPLY=()
  local IFS=$'\n' c
  for c in $out; do COMPREPLY+=("@{c%%$'\t'*}"); done
  if [[ @{#COMPREPLY[@]} -eq 0 && $(( directive & 4 )) -eq 0 ]]; then
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -F _kubectl_krt kubectl-krt
`;

const ZSH = String.raw`#compdef kubectl-krt
# zsh completion for kubectl-krt
# Load it with:  source <(kubectl krt completion zsh)
_kubectl_krt() {
  local -a lines completions
  local directive
  lines=("@{(@f)$(kubectl-krt __complete "@{(@)words[2,CURRENT-1]}" "@{words[CURRENT]}" 2>/dev/null)}")
  directive=@{lines[-1]#:}
  completions=("@{(@)lines[1,-2]}")
  completions=("@{(@)completions%%$'\t'*}")
  if (( @{#completions} )); then
    compadd -- "@{completions[@]}"
  elif (( (directive & 4) == 0 )); then
    _files
  fi
}
compdef _kubectl_krt kubectl-krt
`;

const FISH = `# fish completion for kubectl-krt
# Load it with:  kubectl krt completion fish | source
function __kubectl_krt_complete
    set -l args (commandline -opc)[2..-1]
    set -l cur (commandline -ct)
    kubectl-krt __complete $args $cur 2>/dev/null | string match -v -r '^:'
end
complete -c kubectl-krt -f -a '(__kubectl_krt_complete)'
`;

/** The script for a shell. The sources write `@{` for the shell's `${`, which a template literal would take. */
export function completionScript(shell: Shell): string {
  return { [Shell.Bash]: BASH, [Shell.Zsh]: ZSH, [Shell.Fish]: FISH }[shell].replaceAll('@{', '${');
}
