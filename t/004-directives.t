# docs/directives.md against the modules' directive tables: every
# directive of the code is documented with its syntax, default and the
# contexts its table allows, and every documented one exists.  Reads the
# C sources and the page; starts nothing.
use strict;
use warnings;

use FindBin ();
use Test::More;

my $top = "$FindBin::Bin/..";
my (%code, %doc);

for my $file (glob "$top/ngx_spectra_module/*.c") {
    open my $fh, '<', $file or die "$file: $!";
    my $text = do { local $/; <$fh> };
    close $fh;

    # { ngx_string("name"),\n      NGX_HTTP_..._CONF|...|NGX_CONF_..., }
    while ($text =~ /\{\s*ngx_string\("(spectra_\w+)"\),\s*([A-Z0-9_|\s]+),/g) {
        my ($name, $flags) = ($1, $2);
        next unless $flags =~ /NGX_HTTP_\w+_CONF/;

        my @ctx;
        push @ctx, 'http' if $flags =~ /NGX_HTTP_MAIN_CONF/;
        push @ctx, 'server' if $flags =~ /NGX_HTTP_SRV_CONF/;
        push @ctx, 'location' if $flags =~ /NGX_HTTP_LOC_CONF/;

        $code{$name} = join ', ', @ctx;
    }
}

open my $fh, '<', "$top/docs/directives.md" or die "directives.md: $!";
my $page = do { local $/; <$fh> };
close $fh;

for my $section (split /^### /m, $page) {
    my ($name) = $section =~ /\A(spectra_\w+)\n/ or next;
    my %f;

    $f{$1} = $2 while $section =~ /^(Syntax|Default|Context): (.*?)\s*$/mg;
    $doc{$name} = \%f;
}

cmp_ok(scalar keys %code, '>', 40, 'the directive tables were read');

for my $name (sort keys %code) {
    ok($doc{$name}, "$name is documented") or next;

    like($doc{$name}{Syntax} // '', qr/^`\Q$name\E[ ;]/,
         "$name: its syntax starts with its name");
    ok(defined $doc{$name}{Default}, "$name: its default is said");
    is($doc{$name}{Context}, $code{$name}, "$name: its contexts");
}

for my $name (sort keys %doc) {
    ok($code{$name}, "documented $name exists in the code");
}

done_testing();
