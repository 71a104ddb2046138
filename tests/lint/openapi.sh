#!/bin/sh
# docs/openapi.json and the routes tarsd serves (host/api/routes.c, and the WebSocket in
# host/api/stream.h) name the same operations, each with the same least role.
SRC=$(cd "$(dirname "$0")/../.." && pwd)
exec perl -MJSON::PP -e '
	my ($src) = @ARGV;
	my $slurp = sub { local $/; open my $h, "<", $_[0] or die "$_[0]: $!"; <$h> };
	my $doc = JSON::PP->new->decode($slurp->("$src/docs/openapi.json"));
	my (%code, %spec);
	my $routes = $slurp->("$src/host/api/routes.c");
	while ($routes =~ /\{"(\w+)", "([^"]+)", ROLE_(\w+), \w+\}/g) {
		$code{"$1 $2"} = lc($3) eq "none" ? "none" : lc $3;
	}
	my $stream = $slurp->("$src/host/api/stream.h");
	$code{"GET $1"} = "viewer" if $stream =~ /STREAM_PATH\s+"([^"]+)"/;
	for my $path (keys %{$doc->{paths}}) {
		for my $m (keys %{$doc->{paths}{$path}}) {
			$spec{uc($m) . " $path"} = $doc->{paths}{$path}{$m}{"x-tars-role"} // "(none given)";
		}
	}
	my ($n, $bad) = (0, 0);
	for my $op (sort keys %code) {
		$n++;
		my $ok = exists $spec{$op} && $spec{$op} eq $code{$op};
		$bad++ unless $ok;
		print $ok ? "ok $n - $op is documented, role $code{$op}\n"
		    : "not ok $n - $op (role $code{$op}) is " . (exists $spec{$op} ? "documented with role $spec{$op}" : "not in docs/openapi.json") . "\n";
	}
	for my $op (sort keys %spec) {
		next if exists $code{$op};
		$n++; $bad++;
		print "not ok $n - docs/openapi.json documents $op, which tarsd does not serve\n";
	}
	print "1..$n\n";
	exit($bad ? 1 : 0);
' "$SRC"
