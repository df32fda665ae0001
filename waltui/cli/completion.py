"""Shell completion scripts generated from the same parsers as the help: commands,
options, the choices an option takes (--format, --lock-source, ...), and file names, which
may hold spaces. Every word from the parsers is quoted for the shell it goes to (a
description with an apostrophe broke zsh and fish). tests/test_cli.py completes real
words in real bash, zsh and fish."""

from __future__ import annotations

import argparse

from waltui.cli.args import COMMANDS, build_parser


def _quote(text: str) -> str:
    """A single-quoted word for bash and zsh (and fish, whose rule for ' is the same)."""
    return "'" + text.replace("'", "'\\''") + "'"


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _options(command: str) -> list[argparse.Action]:
    return [a for a in build_parser(command)._actions
            if a.option_strings and a.dest != "help"]


def _takes_file(action: argparse.Action) -> bool:
    return action.nargs != 0 and not action.choices and \
        str(action.metavar or "").upper() in ("FILE", "DIR", "PATH")


def completion(shell: str) -> str:
    commands = [c for c in COMMANDS if c]
    return {"bash": _bash, "zsh": _zsh, "fish": _fish}[shell](commands)


def _bash(commands: list[str]) -> str:
    known = "|".join(_quote(c) for c in commands)
    choices, cases = [], []
    for command in ["", *commands]:
        for action in _options(command):
            if action.choices:
                values = _quote(" ".join(map(str, action.choices)))
                choices += [f"    {_quote((command or '-') + ' ' + option)}) values={values} ;;"
                            for option in action.option_strings]
        words = [o for a in _options(command) for o in a.option_strings]
        if command:
            cases.append(f"    {_quote(command)}) opts={_quote(' '.join(words))} ;;")
        else:
            cases.append(f"    *) opts={_quote(' '.join(commands + words))} ;;")
    return f"""# waltui bash completion: eval "$(waltui completion bash)"
_waltui() {{
  local cur=${{COMP_WORDS[COMP_CWORD]}} prev=${{COMP_WORDS[COMP_CWORD-1]}} cmd=-
  local opts='' values='' IFS=$'\\n'
  case "${{COMP_WORDS[1]}}" in
    {known}) (( COMP_CWORD > 1 )) && cmd=${{COMP_WORDS[1]}} ;;
  esac
  case "$cmd $prev" in
{chr(10).join(choices)}
  esac
  if [[ -n "$values" ]]; then
    COMPREPLY=($(IFS=' '; compgen -W "$values" -- "$cur"))
    return
  fi
  case "$cmd" in
{chr(10).join(cases)}
  esac
  if [[ "$cur" == -* || $COMP_CWORD -eq 1 ]]; then
    COMPREPLY=($(IFS=' '; compgen -W "$opts" -- "$cur") $(compgen -f -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}}
complete -o filenames -F _waltui waltui
"""


def _zsh_spec(action: argparse.Action) -> list[str]:
    help_text = (action.help or "").replace("[", "(").replace("]", ")").replace(":", " ")
    if action.nargs == 0:
        value = ""
    elif action.choices:
        value = f":{action.dest}:({' '.join(map(str, action.choices))})"
    elif _takes_file(action):
        value = f":{str(action.metavar).lower()}:_files"
    else:
        value = f":{str(action.metavar or action.dest).lower()}: "
    return [_quote(f"{option}[{help_text}]{value}") for option in action.option_strings]


def _zsh(commands: list[str]) -> str:
    described = "\n".join(f"    {_quote(c + ':' + COMMANDS[c].replace(':', ' '))}"
                          for c in commands)

    def arguments(command: str) -> str:
        specs = [spec for action in _options(command) for spec in _zsh_spec(action)]
        return " ".join([*specs, _quote("*:file:_files")])

    cases = "\n".join(f"    {_quote(c)}) _arguments {arguments(c)} ;;" for c in commands)
    return f"""#compdef waltui
# waltui zsh completion: waltui completion zsh > "${{fpath[1]}}/_waltui"
_waltui() {{
  local -a commands
  commands=(
{described}
  )
  if (( CURRENT == 2 )); then
    _describe command commands
    _arguments {arguments('')}
    return
  fi
  case $words[2] in
{cases}
    *) _arguments {arguments('')} ;;
  esac
}}
_waltui "$@"
"""


def _fish(commands: list[str]) -> str:
    lines = ["# waltui fish completion: waltui completion fish | source",
             "complete -c waltui -f -a '(__fish_complete_path)'"]
    lines += [f"complete -c waltui -n __fish_use_subcommand -a {_fish_quote(c)} "
              f"-d {_fish_quote(COMMANDS[c])}" for c in commands]
    for command in ["", *commands]:
        when = "__fish_use_subcommand" if not command else \
            _fish_quote(f"__fish_seen_subcommand_from {command}")
        for action in _options(command):
            for option in action.option_strings:
                if not option.startswith("--"):
                    continue
                line = f"complete -c waltui -n {when} -l {option[2:]}"
                if action.choices:
                    line += f" -x -a {_fish_quote(' '.join(map(str, action.choices)))}"
                elif _takes_file(action):
                    line += " -r -F"
                elif action.nargs != 0:
                    line += " -x"
                if action.help:
                    line += f" -d {_fish_quote(action.help)}"
                lines.append(line)
    return "\n".join(lines) + "\n"
