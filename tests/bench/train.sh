#!/bin/sh
# The host loop: tarsd train with the random agent on cartpole, 8 envs, 1M steps, 5 runs.
B=${TARS_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
echo "== tarsd train --agent random --env cartpole --n-envs 8 --steps 1000000 --json (5 runs)"
rates=""
for i in 1 2 3 4 5; do
	out=$("$B/bin/tarsd" train --manifests "$SRC/manifests" --plugins "$B/lib/tars/plugins" \
		--agent random --env cartpole --n-envs 8 --steps 1000000 --seed "$i" --json) || exit 1
	sps=$(printf '%s' "$out" | perl -MJSON::PP -e 'printf "%.0f", JSON::PP->new->decode(<STDIN>)->{sps}')
	rates="$rates $sps"
	echo "   run $i: $sps steps/s"
done
echo "$rates" | tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {printf "   median: %d steps/s (%.1f ns per env step: act + step + observe + bookkeeping)\n", a[int((NR+1)/2)], 1e9/a[int((NR+1)/2)]}'
