#!/usr/bin/env bash
# Screenshots of the real app in a real terminal emulator on a virtual X screen:
# xterm as a VT340 speaks Sixel, kitty speaks its own graphics protocol.
#
#   screenshots/real_terminal.sh xterm DATA_DIR OUT_PREFIX [STEP...]
#
# Each STEP is "keys:<xdotool key names>" (e.g. "keys:j j Return") or "shot:NAME",
# which saves OUT_PREFIX-NAME.png after letting the app settle. Needs the Debian
# packages xvfb, xterm (or kitty), xdotool and imagemagick.
set -euo pipefail

terminal=$1 data_dir=$2 prefix=$3
shift 3
app=${IMAGEREPO_APP:-imagerepo-tui}
display=:${DISPLAY_NUMBER:-42}
# A fresh state file: the shots start from the default view, whatever was last used.
IMAGEREPO_STATE=$(mktemp -d)/state.json
export IMAGEREPO_STATE

Xvfb "$display" -screen 0 1400x900x24 >/dev/null 2>&1 &
xvfb=$!
trap 'kill $xvfb 2>/dev/null || true' EXIT
export DISPLAY=$display
sleep 2

case $terminal in
xterm)
    # vt340 with 256 colour registers is xterm's Sixel mode; allowSendEvents lets
    # xdotool type into it. xterm clears COLORTERM, which tells Textual it may send
    # 24-bit colour: set again for the app.
    xterm -ti vt340 -tn xterm-256color -geometry 140x42+0+0 -fa 'DejaVu Sans Mono' -fs 10 \
        -xrm 'XTerm*decTerminalID: vt340' -xrm 'XTerm*numColorRegisters: 256' \
        -xrm 'XTerm*allowSendEvents: true' -xrm 'XTerm*directColor: true' \
        -e env COLORTERM=truecolor "$app" --data-dir "$data_dir" &
    ;;
kitty)
    # No GPU here: Mesa's software OpenGL.
    LIBGL_ALWAYS_SOFTWARE=1 kitty -o initial_window_width=1120 -o initial_window_height=720 \
        -o font_size=10 -o remember_window_size=no "$app" --data-dir "$data_dir" &
    ;;
*)
    echo "unknown terminal: $terminal (xterm or kitty)" >&2
    exit 2
    ;;
esac
sleep 10 # the embedded server starts and the first preview is drawn
window=$(xdotool search --class "$terminal" | head -1)
xdotool windowfocus "$window" 2>/dev/null || true

for step in "$@"; do
    case $step in
    keys:*)
        # shellcheck disable=SC2086  # the key names are meant to split
        xdotool key --delay 150 ${step#keys:} 2>/dev/null
        ;;
    shot:*)
        sleep 4
        import -window "$window" "$prefix-${step#shot:}.png"
        ;;
    esac
done
xdotool key ctrl+q 2>/dev/null || true
sleep 2
