//! Real RUN lines (docker-library python and redis, nginx's Dockerfiles,
//! the classic examples people migrate) analysed end to end. Each analysis
//! is snapshotted in a readable form (reviewed by hand) and the facts the
//! plan relies on are asserted directly.

mod shell_support;

use scratchify::shell::*;
use shell_support::{render, vars};

/// The text of a RUN instruction as the shell receives it from BuildKit:
/// comment lines inside the instruction are dropped (BuildKit removes
/// them); line continuations are left for the shell parser.
fn run_text(raw: &str) -> String {
    raw.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
}

fn analyze(text: &str, v: &[(&str, &str)]) -> Analysis {
    let lookup = vars(v);
    analyze_script(text, &lookup)
}

fn effects_of<'a>(a: &'a Analysis, name: &str) -> Vec<&'a Effect> {
    a.commands
        .iter()
        .filter(|c| c.name() == Some(name))
        .flat_map(|c| c.effects.iter())
        .collect()
}

fn installs(a: &Analysis) -> Vec<(Manager, Vec<String>)> {
    a.effects()
        .filter_map(|(_, e)| match e {
            Effect::PackageInstall {
                manager, packages, ..
            } => Some((*manager, packages.iter().map(|p| p.name.clone()).collect())),
            _ => None,
        })
        .collect()
}

fn opaque_names(a: &Analysis) -> Vec<String> {
    a.opaque()
        .map(|(c, _)| {
            c.argv
                .first()
                .map_or(String::new(), |x| x.display().to_string())
        })
        .collect()
}

const PYTHON_RUNTIME: &str = r#"set -eux; \
	apt-get update; \
	apt-get install -y --no-install-recommends \
		ca-certificates \
		netbase \
		tzdata \
	; \
	rm -rf /var/lib/apt/lists/*"#;

const PYTHON_BUILD: &str = r#"set -eux; \
	\
	savedAptMark="$(apt-mark showmanual)"; \
	apt-get update; \
	apt-get install -y --no-install-recommends \
		dpkg-dev \
		gcc \
		gnupg \
		libbluetooth-dev \
		libbz2-dev \
		libc6-dev \
		libdb-dev \
		libffi-dev \
		libgdbm-dev \
		liblzma-dev \
		libncursesw5-dev \
		libreadline-dev \
		libsqlite3-dev \
		libssl-dev \
		make \
		tk-dev \
		uuid-dev \
		wget \
		xz-utils \
		zlib1g-dev \
	; \
	\
	wget -O python.tar.xz "https://www.python.org/ftp/python/${PYTHON_VERSION%%[a-z]*}/Python-$PYTHON_VERSION.tar.xz"; \
	echo "$PYTHON_SHA256 *python.tar.xz" | sha256sum -c -; \
	wget -O python.tar.xz.asc "https://www.python.org/ftp/python/${PYTHON_VERSION%%[a-z]*}/Python-$PYTHON_VERSION.tar.xz.asc"; \
	GNUPGHOME="$(mktemp -d)"; export GNUPGHOME; \
	gpg --batch --keyserver hkps://keys.openpgp.org --recv-keys "$GPG_KEY"; \
	gpg --batch --verify python.tar.xz.asc python.tar.xz; \
	gpgconf --kill all; \
	rm -rf "$GNUPGHOME" python.tar.xz.asc; \
	mkdir -p /usr/src/python; \
	tar --extract --directory /usr/src/python --strip-components=1 --file python.tar.xz; \
	rm python.tar.xz; \
	\
	cd /usr/src/python; \
	gnuArch="$(dpkg-architecture --query DEB_BUILD_GNU_TYPE)"; \
	./configure \
		--build="$gnuArch" \
		--enable-loadable-sqlite-extensions \
		--enable-optimizations \
		--enable-option-checking=fatal \
		--enable-shared \
		--with-lto \
		--with-ensurepip \
	; \
	nproc="$(nproc)"; \
	EXTRA_CFLAGS="$(dpkg-buildflags --get CFLAGS)"; \
	LDFLAGS="$(dpkg-buildflags --get LDFLAGS)"; \
	LDFLAGS="${LDFLAGS:--Wl},--strip-all"; \
	make -j "$nproc" \
		"EXTRA_CFLAGS=${EXTRA_CFLAGS:-}" \
		"LDFLAGS=${LDFLAGS:-}" \
	; \
# https://github.com/docker-library/python/issues/784
# prevent accidental usage of a system installed libpython of the same version
	rm python; \
	make -j "$nproc" \
		"EXTRA_CFLAGS=${EXTRA_CFLAGS:-}" \
		"LDFLAGS=${LDFLAGS:--Wl},-rpath='\$\$ORIGIN/../lib'" \
		python \
	; \
	make install; \
	\
	cd /; \
	rm -rf /usr/src/python; \
	\
	find /usr/local -depth \
		\( \
			\( -type d -a \( -name test -o -name tests -o -name idle_test \) \) \
			-o \( -type f -a \( -name '*.pyc' -o -name '*.pyo' -o -name 'libpython*.a' \) \) \
		\) -exec rm -rf '{}' + \
	; \
	\
	ldconfig; \
	\
	apt-mark auto '.*' > /dev/null; \
	apt-mark manual $savedAptMark; \
	find /usr/local -type f -executable -not \( -name '*tkinter*' \) -exec ldd '{}' ';' \
		| awk '/=>/ { so = $(NF-1); if (index(so, "/usr/local/") == 1) { next }; gsub("^/(usr/)?", "", so); printf "*%s\n", so }' \
		| sort -u \
		| xargs -r dpkg-query --search \
		| cut -d: -f1 \
		| sort -u \
		| xargs -r apt-mark manual \
	; \
	apt-get purge -y --auto-remove -o APT::AutoRemove::RecommendsImportant=false; \
	rm -rf /var/lib/apt/lists/*; \
	\
	export PYTHONDONTWRITEBYTECODE=1; \
	python3 --version; \
	\
	pip3 install \
		--disable-pip-version-check \
		--no-cache-dir \
		--no-compile \
		'setuptools==70.1.0' \
		wheel \
	; \
	pip3 --version"#;

const PYTHON_VARS: &[(&str, &str)] = &[
    ("GPG_KEY", "A035C8C19219BA821ECEA86B64E628F8D684696D"),
    ("PYTHON_VERSION", "3.11.12"),
    (
        "PYTHON_SHA256",
        "849da87af4df137710c1796e276a955f7a85c9f971081067c8f565d15c352a09",
    ),
    (
        "PATH",
        "/usr/local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ),
    ("LANG", "C.UTF-8"),
];

const PYTHON_SYMLINKS: &str = r#"set -eux; \
	for src in idle3 pip3 pydoc3 python3 python3-config; do \
		dst="$(echo "$src" | tr -d 3)"; \
		[ -s "/usr/local/bin/$src" ]; \
		[ ! -e "/usr/local/bin/$dst" ]; \
		ln -svT "$src" "/usr/local/bin/$dst"; \
	done"#;

/// As `docker history` shows the redis:7.0 (bullseye) RUN steps: the
/// continuations already joined by BuildKit.
const REDIS_USERS: &str = "groupadd -r -g 999 redis && useradd -r -g redis -u 999 redis";

const REDIS_GOSU: &str = "set -eux; \tsavedAptMark=\"$(apt-mark showmanual)\"; \tapt-get update; \tapt-get install -y --no-install-recommends ca-certificates dirmngr gnupg wget; \trm -rf /var/lib/apt/lists/*; \tdpkgArch=\"$(dpkg --print-architecture | awk -F- '{ print $NF }')\"; \twget -O /usr/local/bin/gosu \"https://github.com/tianon/gosu/releases/download/$GOSU_VERSION/gosu-$dpkgArch\"; \twget -O /usr/local/bin/gosu.asc \"https://github.com/tianon/gosu/releases/download/$GOSU_VERSION/gosu-$dpkgArch.asc\"; \texport GNUPGHOME=\"$(mktemp -d)\"; \tgpg --batch --keyserver hkps://keys.openpgp.org --recv-keys B42F6819007F00F88E364FD4036A9C25BF357DD4; \tgpg --batch --verify /usr/local/bin/gosu.asc /usr/local/bin/gosu; \tgpgconf --kill all; \trm -rf \"$GNUPGHOME\" /usr/local/bin/gosu.asc; \tapt-mark auto '.*' > /dev/null; \t[ -z \"$savedAptMark\" ] || apt-mark manual $savedAptMark > /dev/null; \tapt-get purge -y --auto-remove -o APT::AutoRemove::RecommendsImportant=false; \tchmod +x /usr/local/bin/gosu; \tgosu --version; \tgosu nobody true";

const REDIS_BUILD: &str = "set -eux; \t\tsavedAptMark=\"$(apt-mark showmanual)\"; \tapt-get update; \tapt-get install -y --no-install-recommends \t\tca-certificates \t\twget \t\t\t\tdpkg-dev \t\tgcc \t\tlibc6-dev \t\tlibssl-dev \t\tmake \t; \trm -rf /var/lib/apt/lists/*; \t\twget -O redis.tar.gz \"$REDIS_DOWNLOAD_URL\"; \techo \"$REDIS_DOWNLOAD_SHA *redis.tar.gz\" | sha256sum -c -; \tmkdir -p /usr/src/redis; \ttar -xzf redis.tar.gz -C /usr/src/redis --strip-components=1; \trm redis.tar.gz; \t\tgrep -E '^ *createBoolConfig[(]\"protected-mode\",.*, *1 *,.*[)],$' /usr/src/redis/src/config.c; \tsed -ri 's!^( *createBoolConfig[(]\"protected-mode\",.*, *)1( *,.*[)],)$!\\10\\2!' /usr/src/redis/src/config.c; \tgrep -E '^ *createBoolConfig[(]\"protected-mode\",.*, *0 *,.*[)],$' /usr/src/redis/src/config.c; \t\tgnuArch=\"$(dpkg-architecture --query DEB_BUILD_GNU_TYPE)\"; \textraJemallocConfigureFlags=\"--build=$gnuArch\"; \tdpkgArch=\"$(dpkg --print-architecture)\"; \tcase \"${dpkgArch##*-}\" in \t\tamd64 | i386 | x32) extraJemallocConfigureFlags=\"$extraJemallocConfigureFlags --with-lg-page=12\" ;; \t\t*) extraJemallocConfigureFlags=\"$extraJemallocConfigureFlags --with-lg-page=16\" ;; \tesac; \textraJemallocConfigureFlags=\"$extraJemallocConfigureFlags --with-lg-hugepage=21\"; \tgrep -F 'cd jemalloc && ./configure ' /usr/src/redis/deps/Makefile; \tsed -ri 's!cd jemalloc && ./configure !&'\"$extraJemallocConfigureFlags\"' !' /usr/src/redis/deps/Makefile; \tgrep -F \"cd jemalloc && ./configure $extraJemallocConfigureFlags \" /usr/src/redis/deps/Makefile; \t\texport BUILD_TLS=yes; \tmake -C /usr/src/redis -j \"$(nproc)\" all; \tmake -C /usr/src/redis install; \t\tserverMd5=\"$(md5sum /usr/local/bin/redis-server | cut -d' ' -f1)\"; export serverMd5; \tfind /usr/local/bin/redis* -maxdepth 0 \t\t-type f -not -name redis-server \t\t-exec sh -eux -c ' \t\t\tmd5=\"$(md5sum \"$1\" | cut -d\" \" -f1)\"; \t\t\ttest \"$md5\" = \"$serverMd5\"; \t\t' -- '{}' ';' \t\t-exec ln -svfT 'redis-server' '{}' ';' \t; \t\trm -r /usr/src/redis; \t\tapt-mark auto '.*' > /dev/null; \t[ -z \"$savedAptMark\" ] || apt-mark manual $savedAptMark > /dev/null; \tfind /usr/local -type f -executable -exec ldd '{}' ';' \t\t| awk '/=>/ { print $(NF-1) }' \t\t| sort -u \t\t| xargs -r dpkg-query --search \t\t| cut -d: -f1 \t\t| sort -u \t\t| xargs -r apt-mark manual \t; \tapt-get purge -y --auto-remove -o APT::AutoRemove::RecommendsImportant=false; \t\tredis-cli --version; \tredis-server --version";

const REDIS_VARS: &[(&str, &str)] = &[
    ("GOSU_VERSION", "1.16"),
    ("REDIS_VERSION", "7.0.8"),
    (
        "REDIS_DOWNLOAD_URL",
        "http://download.redis.io/releases/redis-7.0.8.tar.gz",
    ),
    (
        "REDIS_DOWNLOAD_SHA",
        "06a339e491306783dcf55b97f15a5dbcbdc01ccbde6dc23027c475cab735e914",
    ),
];

/// nginx's Dockerfile-alpine-slim.template with the placeholders filled in
/// as in a generated Dockerfile.
const NGINX_ALPINE_SLIM: &str = r#"set -x \
# create nginx user/group first, to be consistent throughout docker variants
    && addgroup -g 101 -S nginx \
    && adduser -S -D -H -u 101 -h /var/cache/nginx -s /sbin/nologin -G nginx -g nginx nginx \
    && apkArch="$(cat /etc/apk/arch)" \
    && nginxPackages=" \
        nginx=${NGINX_VERSION}-r${PKG_RELEASE} \
    " \
# install prerequisites for public key and pkg-oss checks
    && apk add --no-cache --virtual .checksum-deps \
        openssl \
    && case "$apkArch" in \
        x86_64|aarch64) \
# arches officially built by upstream
            set -x \
            && KEY_SHA512="e09fa32f0a0eab2b879ccbbc4d0e4fb9751486eedda75e35fac65802cc9faa266425edf83e261137a2f4d16281ce2c1a5f4502930fe75154723da014214f0655" \
            && wget -O /tmp/nginx_signing.rsa.pub https://nginx.org/keys/nginx_signing.rsa.pub \
            && if echo "$KEY_SHA512 */tmp/nginx_signing.rsa.pub" | sha512sum -c -; then \
                echo "key verification succeeded!"; \
                mv /tmp/nginx_signing.rsa.pub /etc/apk/keys/; \
            else \
                echo "key verification failed!"; \
                exit 1; \
            fi \
            && apk add -X "https://nginx.org/packages/alpine/v$(egrep -o '^[0-9]+\.[0-9]+' /etc/alpine-release)/main" --no-cache $nginxPackages \
            ;; \
        *) \
# we're on an architecture upstream doesn't officially build for
# let's build binaries from the published packaging sources
            set -x \
            && tempDir="$(mktemp -d)" \
            && chown nobody:nobody $tempDir \
            && apk add --no-cache --virtual .build-deps \
                gcc \
                libc-dev \
                make \
                openssl-dev \
                pcre2-dev \
                zlib-dev \
                linux-headers \
                bash \
                alpine-sdk \
                findutils \
            && su nobody -s /bin/sh -c " \
                export HOME=${tempDir} \
                && cd ${tempDir} \
                && curl -f -O https://hg.nginx.org/pkg-oss/archive/${NGINX_VERSION}-${PKG_RELEASE}.tar.gz \
                && tar xzvf ${NGINX_VERSION}-${PKG_RELEASE}.tar.gz \
                && cd pkg-oss-${NGINX_VERSION}-${PKG_RELEASE} \
                && cd alpine \
                && make base \
                && apk index -o ${tempDir}/packages/alpine/${apkArch}/APKINDEX.tar.gz ${tempDir}/packages/alpine/${apkArch}/*.apk \
                && abuild-sign -k ${tempDir}/.abuild/abuild-key.rsa ${tempDir}/packages/alpine/${apkArch}/APKINDEX.tar.gz \
                " \
            && cp ${tempDir}/.abuild/abuild-key.rsa.pub /etc/apk/keys/ \
            && apk del --no-network .build-deps \
            && apk add -X ${tempDir}/packages/alpine/ --no-cache $nginxPackages \
            ;; \
    esac \
# remove checksum deps
    && apk del --no-network .checksum-deps \
# if we have leftovers from building, let's purge them (including extra, unnecessary build deps)
    && if [ -n "$tempDir" ]; then rm -rf "$tempDir"; fi \
    && if [ -f "/etc/apk/keys/abuild-key.rsa.pub" ]; then rm -f /etc/apk/keys/abuild-key.rsa.pub; fi \
    && if [ -f "/etc/apk/keys/nginx_signing.rsa.pub" ]; then rm -f /etc/apk/keys/nginx_signing.rsa.pub; fi \
# Bring in gettext so we can get `envsubst`, then throw
# the rest away. To do this, we need to install `gettext`
# then move `envsubst` out of the way so `gettext` can
# be deleted completely, then move `envsubst` back.
    && apk add --no-cache --virtual .gettext gettext \
    && mv /usr/bin/envsubst /tmp/ \
    \
    && runDeps="$( \
        scanelf --needed --nobanner /tmp/envsubst \
            | awk '{ gsub(/,/, "\nso:", $2); print "so:" $2 }' \
            | sort -u \
            | xargs -r apk info --installed \
            | sort -u \
    )" \
    && apk add --no-cache $runDeps \
    && apk del --no-network .gettext \
    && mv /tmp/envsubst /usr/local/bin/ \
# Bring in tzdata so users could set the timezones through the environment
# variables
    && apk add --no-cache tzdata \
# forward request and error logs to docker log collector
    && ln -sf /dev/stdout /var/log/nginx/access.log \
    && ln -sf /dev/stderr /var/log/nginx/error.log \
# create a docker-entrypoint.d directory
    && mkdir /docker-entrypoint.d"#;

const NGINX_VARS: &[(&str, &str)] = &[("NGINX_VERSION", "1.27.3"), ("PKG_RELEASE", "1")];

/// nginx's Dockerfile-debian.template, placeholders filled in.
const NGINX_DEBIAN: &str = r#"set -x \
# create nginx user/group first, to be consistent throughout docker variants
    && groupadd --system --gid 101 nginx \
    && useradd --system --gid nginx --no-create-home --home /nonexistent --comment "nginx user" --shell /bin/false --uid 101 nginx \
    && apt-get update \
    && apt-get install --no-install-recommends --no-install-suggests -y gnupg1 ca-certificates \
    && \
    NGINX_GPGKEY=573BFD6B3D8FBC641079A6ABABF5BD827BD9BF62; \
    NGINX_GPGKEY_PATH=/usr/share/keyrings/nginx-archive-keyring.gpg; \
    export GNUPGHOME="$(mktemp -d)"; \
    found=''; \
    for server in \
        hkp://keyserver.ubuntu.com:80 \
        pgp.mit.edu \
    ; do \
        echo "Fetching GPG key $NGINX_GPGKEY from $server"; \
        gpg1 --keyserver "$server" --keyserver-options timeout=10 --recv-keys "$NGINX_GPGKEY" && found=yes && break; \
    done; \
    test -z "$found" && echo >&2 "error: failed to fetch GPG key $NGINX_GPGKEY" && exit 1; \
    gpg1 --export "$NGINX_GPGKEY" > "$NGINX_GPGKEY_PATH" ; \
    rm -rf "$GNUPGHOME"; \
    apt-get remove --purge --auto-remove -y gnupg1 && rm -rf /var/lib/apt/lists/* \
    && dpkgArch="$(dpkg --print-architecture)" \
    && nginxPackages=" \
        nginx=${NGINX_VERSION}-${PKG_RELEASE} \
        nginx-module-njs=${NGINX_VERSION}+${NJS_VERSION}-${NJS_RELEASE} \
    " \
    && case "$dpkgArch" in \
        amd64|arm64) \
# arches officialy built by upstream
            echo "deb [signed-by=$NGINX_GPGKEY_PATH] https://nginx.org/packages/mainline/debian/ bookworm nginx" >> /etc/apt/sources.list.d/nginx.list \
            && apt-get update \
            ;; \
        *) \
            echo "deb-src [signed-by=$NGINX_GPGKEY_PATH] https://nginx.org/packages/mainline/debian/ bookworm nginx" >> /etc/apt/sources.list.d/nginx.list \
            \
            && tempDir="$(mktemp -d)" \
            && chmod 777 "$tempDir" \
            \
            && savedAptMark="$(apt-mark showmanual)" \
            \
            && apt-get update \
            && apt-get build-dep -y nginx \
            && ( \
                cd "$tempDir" \
                && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" \
                    apt-get source --compile nginx \
            ) \
            \
            && apt-mark showmanual | xargs apt-mark auto > /dev/null \
            && { [ -z "$savedAptMark" ] || apt-mark manual $savedAptMark; } \
            \
            && ls -lAFh "$tempDir" \
            && ( cd "$tempDir" && dpkg-scanpackages . > Packages ) \
            && grep '^Package: ' "$tempDir/Packages" \
            && echo "deb [ trusted=yes ] file://$tempDir ./" > /etc/apt/sources.list.d/temp.list \
            && apt-get -o Acquire::GzipIndexes=false update \
            ;; \
    esac \
    \
    && apt-get install --no-install-recommends --no-install-suggests -y \
                        $nginxPackages \
                        gettext-base \
                        curl \
    && apt-get remove --purge --auto-remove -y && rm -rf /var/lib/apt/lists/* /etc/apt/sources.list.d/nginx.list \
    \
# if we have leftovers from building, let's purge them (including extra, unnecessary build deps)
    && if [ -n "$tempDir" ]; then \
        apt-get purge -y --auto-remove \
        && rm -rf "$tempDir" /etc/apt/sources.list.d/temp.list; \
    fi \
# forward request and error logs to docker log collector
    && ln -sf /dev/stdout /var/log/nginx/access.log \
    && ln -sf /dev/stderr /var/log/nginx/error.log \
# create a docker-entrypoint.d directory
    && mkdir /docker-entrypoint.d"#;

const NGINX_DEBIAN_VARS: &[(&str, &str)] = &[
    ("NGINX_VERSION", "1.27.3"),
    ("NJS_VERSION", "0.8.7"),
    ("NJS_RELEASE", "1~bookworm"),
    ("PKG_RELEASE", "1~bookworm"),
];

#[test]
fn python_runtime_dependencies() {
    let text = run_text(PYTHON_RUNTIME);
    let a = analyze(&text, PYTHON_VARS);
    assert_eq!(
        installs(&a),
        vec![(
            Manager::Apt,
            vec!["ca-certificates".into(), "netbase".into(), "tzdata".into()]
        )]
    );
    assert!(a.opaque().next().is_none());
    // Every package name's span is the name in the text.
    for (_, e) in a.effects() {
        if let Effect::PackageInstall {
            packages, options, ..
        } = e
        {
            assert!(options.no_install_recommends && options.assume_yes);
            for p in packages {
                assert_eq!(&text[p.span.start..p.span.end], p.name);
            }
        }
    }
    insta::assert_yaml_snapshot!(render(&text, &a));
}

#[test]
fn python_build_with_saved_apt_mark() {
    let text = run_text(PYTHON_BUILD);
    let a = analyze(&text, PYTHON_VARS);
    // The build dependencies, installed then purged.
    let inst = installs(&a);
    assert_eq!(inst.len(), 2);
    assert_eq!(inst[0].1.len(), 20);
    assert_eq!(
        inst[1],
        (Manager::Pip, vec!["setuptools".into(), "wheel".into()])
    );
    // The docker-library idiom: the manual set is saved, everything is
    // marked auto, the saved set is restored, and autoremove purges.
    let marks: Vec<(AptMarkMode, Vec<Option<String>>)> = a
        .effects()
        .filter_map(|(_, e)| match e {
            Effect::AptMark { mode, names, .. } => {
                Some((*mode, names.iter().map(|n| n.value.clone()).collect()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(marks[0], (AptMarkMode::Auto, vec![Some(".*".into())]));
    assert_eq!(marks[1], (AptMarkMode::Manual, vec![None]));
    assert_eq!(marks[2], (AptMarkMode::Manual, vec![None]));
    let saved = a
        .effects()
        .find_map(|(_, e)| match e {
            Effect::AptMark {
                mode: AptMarkMode::Manual,
                names,
                ..
            } => names.first().cloned(),
            _ => None,
        })
        .unwrap();
    assert!(matches!(
        saved.unknown.as_slice(),
        [Unknown::CommandOutput { command, .. }] if command == "apt-mark showmanual"
    ));
    assert!(a.effects().any(|(_, e)| matches!(
        e,
        Effect::PackageRemove { manager: Manager::Apt, names, purge: true, auto_remove: true, config, .. }
            if names.is_empty() && config == &["APT::AutoRemove::RecommendsImportant=false".to_string()]
    )));
    // The download is verified by the checksum from ENV, then extracted.
    assert!(a.effects().any(|(_, e)| matches!(
        e,
        Effect::VerifyChecksum { algorithm: HashAlgorithm::Sha256, list: ChecksumList::Entries { entries }, .. }
            if entries[0].path == "python.tar.xz"
                && entries[0].digest == "849da87af4df137710c1796e276a955f7a85c9f971081067c8f565d15c352a09"
    )));
    assert!(a.effects().any(|(_, e)| matches!(
        e,
        Effect::Download { url, dest: DownloadDest::File { path }, .. }
            if url.known() == Some("https://www.python.org/ftp/python/3.11.12/Python-3.11.12.tar.xz")
                && path.known() == Some("python.tar.xz")
    )));
    // `cd /usr/src/python` is followed.
    let configure = a
        .commands
        .iter()
        .find(|c| c.name() == Some("./configure"))
        .unwrap();
    assert_eq!(configure.cwd, Cwd::Absolute("/usr/src/python".into()));
    // Build steps are opaque, and said so.
    assert_eq!(
        opaque_names(&a),
        vec![
            "./configure",
            "make",
            "make",
            "make",
            "find",
            "ldconfig",
            "find",
            "awk"
        ]
    );
    insta::assert_yaml_snapshot!(render(&text, &a));
}

#[test]
fn python_symlink_loop_is_unrolled() {
    let text = run_text(PYTHON_SYMLINKS);
    let a = analyze(&text, PYTHON_VARS);
    let links: Vec<(String, String)> = a
        .effects()
        .filter_map(|(_, e)| match e {
            Effect::Symlink {
                target,
                link,
                no_target_directory: true,
                ..
            } => Some((target.known()?.to_string(), link.known()?.to_string())),
            _ => None,
        })
        .collect();
    assert_eq!(
        links,
        vec![
            ("idle3".to_string(), "/usr/local/bin/idle".to_string()),
            ("pip3".into(), "/usr/local/bin/pip".into()),
            ("pydoc3".into(), "/usr/local/bin/pydoc".into()),
            ("python3".into(), "/usr/local/bin/python".into()),
            (
                "python3-config".into(),
                "/usr/local/bin/python-config".into()
            ),
        ]
    );
    assert!(a.opaque().next().is_none());
    insta::assert_yaml_snapshot!(render(&text, &a));
}

#[test]
fn redis_accounts() {
    let a = analyze(REDIS_USERS, &[]);
    let effects: Vec<&Effect> = a.effects().map(|(_, e)| e).collect();
    assert!(matches!(
        effects[0],
        Effect::AddGroup { name, gid: Some(999), system: true, .. } if name == "redis"
    ));
    assert!(matches!(
        effects[1],
        Effect::AddUser { name, uid: Some(999), group: Some(g), system: true, create_home: Some(false), user_group: Some(false), .. }
            if name == "redis" && g == "redis"
    ));
    insta::assert_yaml_snapshot!(render(REDIS_USERS, &a));
}

#[test]
fn redis_gosu() {
    let a = analyze(REDIS_GOSU, REDIS_VARS);
    let sig = effects_of(&a, "gpg")
        .into_iter()
        .find_map(|e| match e {
            Effect::VerifySignature {
                signature, file, ..
            } => Some((
                signature.known()?.to_string(),
                file.as_ref()?.known()?.to_string(),
            )),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        sig,
        (
            "/usr/local/bin/gosu.asc".into(),
            "/usr/local/bin/gosu".into()
        )
    );
    // The guarded restore: `[ -z "$savedAptMark" ] || apt-mark manual ...`.
    let restore = a
        .commands
        .iter()
        .find(|c| c.name() == Some("apt-mark") && c.argv[1].known() == Some("manual"))
        .unwrap();
    assert_eq!(restore.context.connector, Some(Connector::Or));
    assert!(restore.context.conditional);
    assert_eq!(opaque_names(&a), vec!["awk", "gosu"]);
    insta::assert_yaml_snapshot!(render(REDIS_GOSU, &a));
}

#[test]
fn redis_build() {
    let a = analyze(REDIS_BUILD, REDIS_VARS);
    // `case "${dpkgArch##*-}"` depends on `dpkg --print-architecture`, so
    // both arms are conditional.
    let flags: Vec<&Command> = a
        .commands
        .iter()
        .filter(|c| {
            c.assignments
                .iter()
                .any(|x| x.name == "extraJemallocConfigureFlags")
        })
        .collect();
    assert_eq!(flags.len(), 4);
    assert!(
        !flags[0].context.conditional
            && flags[1].context.conditional
            && flags[2].context.conditional
    );
    assert!(a.effects().any(|(_, e)| matches!(
        e,
        Effect::Extract { archive: ArchiveSource::File { path }, dest: Some(d), strip_components: Some(1), .. }
            if path.known() == Some("redis.tar.gz") && d.known() == Some("/usr/src/redis")
    )));
    insta::assert_yaml_snapshot!(render(REDIS_BUILD, &a));
}

#[test]
fn nginx_alpine_slim() {
    let text = run_text(NGINX_ALPINE_SLIM);
    let a = analyze(&text, NGINX_VARS);
    let user = a
        .effects()
        .find_map(|(_, e)| match e {
            Effect::AddUser { .. } => Some(e.clone()),
            _ => None,
        })
        .unwrap();
    match user {
        Effect::AddUser {
            name,
            uid,
            group,
            home,
            shell,
            gecos,
            system,
            create_home,
            no_password,
            ..
        } => {
            assert_eq!(name, "nginx");
            assert_eq!(uid, Some(101));
            assert_eq!(group.as_deref(), Some("nginx"));
            assert_eq!(home.as_deref(), Some("/var/cache/nginx"));
            assert_eq!(shell.as_deref(), Some("/sbin/nologin"));
            assert_eq!(gecos.as_deref(), Some("nginx"));
            assert!(system && no_password);
            assert_eq!(create_home, Some(false));
        }
        _ => unreachable!(),
    }
    let virtuals: Vec<String> = a
        .effects()
        .filter_map(|(_, e)| match e {
            Effect::PackageInstall { options, .. } => options.virtual_group.clone(),
            _ => None,
        })
        .collect();
    assert_eq!(virtuals, vec![".checksum-deps", ".build-deps", ".gettext"]);
    let deleted: Vec<String> = a
        .effects()
        .filter_map(|(_, e)| match e {
            Effect::PackageRemove {
                manager: Manager::Apk,
                names,
                ..
            } => Some(names.join(" ")),
            _ => None,
        })
        .collect();
    assert_eq!(deleted, vec![".build-deps", ".checksum-deps", ".gettext"]);
    insta::assert_yaml_snapshot!(render(&text, &a));
}

#[test]
fn nginx_debian() {
    let text = run_text(NGINX_DEBIAN);
    let a = analyze(&text, NGINX_DEBIAN_VARS);
    let last_install = a
        .effects()
        .filter_map(|(_, e)| match e {
            Effect::PackageInstall { packages, .. } => Some(packages),
            _ => None,
        })
        .last()
        .unwrap();
    let names: Vec<(String, Option<String>)> = last_install
        .iter()
        .map(|p| {
            (
                p.name.clone(),
                p.version.as_ref().map(|v| v.clauses[0].version.clone()),
            )
        })
        .collect();
    assert_eq!(
        names,
        vec![
            ("nginx".to_string(), Some("1.27.3-1~bookworm".to_string())),
            (
                "nginx-module-njs".into(),
                Some("1.27.3+0.8.7-1~bookworm".into())
            ),
            ("gettext-base".into(), None),
            ("curl".into(), None),
        ]
    );
    // The sources list line is written with known content.
    assert!(a.effects().any(|(_, e)| matches!(
        e,
        Effect::WriteFile { path, content: Some(c), append: true, .. }
            if path.known() == Some("/etc/apt/sources.list.d/nginx.list")
                && c == "deb [signed-by=/usr/share/keyrings/nginx-archive-keyring.gpg] https://nginx.org/packages/mainline/debian/ bookworm nginx\n"
    )));
    // The key export goes to the keyring path with unknown content.
    assert!(a.effects().any(|(_, e)| matches!(
        e,
        Effect::WriteFile { path, content: None, append: false, .. }
            if path.known() == Some("/usr/share/keyrings/nginx-archive-keyring.gpg")
    )));
    insta::assert_yaml_snapshot!(render(&text, &a));
}

#[test]
fn apk_virtual_group_around_pip() {
    let text = "apk add --no-cache --virtual .build-deps gcc musl-dev && pip install -r requirements.txt && apk del .build-deps";
    let a = analyze(text, &[]);
    let e: Vec<&Effect> = a.effects().map(|(_, e)| e).collect();
    assert!(matches!(
        e[0],
        Effect::PackageInstall { manager: Manager::Apk, packages, options, .. }
            if packages.len() == 2 && options.virtual_group.as_deref() == Some(".build-deps") && options.no_cache
    ));
    assert!(matches!(
        e[1],
        Effect::PackageInstall { manager: Manager::Pip, packages, options, .. }
            if packages.is_empty() && options.requirements[0].known() == Some("requirements.txt")
    ));
    assert!(matches!(
        e[2],
        Effect::PackageRemove { manager: Manager::Apk, names, .. } if names == &[".build-deps".to_string()]
    ));
    insta::assert_yaml_snapshot!(render(text, &a));
}

#[test]
fn flask_on_alpine() {
    let text =
        "apk add --update py2-pip && pip install --no-cache-dir -r /usr/src/app/requirements.txt";
    let a = analyze(text, &[]);
    let e: Vec<&Effect> = a.effects().map(|(_, e)| e).collect();
    assert!(matches!(
        e[0],
        Effect::PackageInstall { manager: Manager::Apk, packages, options, .. }
            if packages[0].name == "py2-pip" && options.update_index
    ));
    assert!(matches!(
        e[1],
        Effect::PackageInstall { manager: Manager::Pip, options, .. }
            if options.no_cache && options.requirements[0].known() == Some("/usr/src/app/requirements.txt")
    ));
    insta::assert_yaml_snapshot!(render(text, &a));
}

#[test]
fn alpine_nginx_user_and_dirs() {
    let text = "addgroup -S nginx && adduser -S -D -H -G nginx nginx && mkdir -p /var/log/nginx /var/cache/nginx && chown -R nginx:nginx /var/log/nginx /var/cache/nginx";
    let a = analyze(text, &[]);
    let e: Vec<&Effect> = a.effects().map(|(_, e)| e).collect();
    assert!(
        matches!(e[0], Effect::AddGroup { name, gid: None, system: true, .. } if name == "nginx")
    );
    assert!(matches!(
        e[1],
        Effect::AddUser { name, group: Some(g), system: true, create_home: Some(false), no_password: true, .. }
            if name == "nginx" && g == "nginx"
    ));
    assert!(
        matches!(e[2], Effect::MakeDir { paths, parents: true, mode: None, .. } if paths.len() == 2)
    );
    assert!(matches!(
        e[3],
        Effect::Chown { user: Some(u), group: Some(g), recursive: true, paths, .. }
            if u == "nginx" && g == "nginx" && paths.len() == 2
    ));
    insta::assert_yaml_snapshot!(render(text, &a));
}

#[test]
fn heredoc_script() {
    // The body of `RUN <<EOF ... EOF` as BuildKit hands it to the shell.
    let text = "set -e\napt-get update\napt-get install -y --no-install-recommends curl ca-certificates\nrm -rf /var/lib/apt/lists/*\ncat > /etc/app.conf <<CONF\nlisten = ${PORT}\nhome = $APP_HOME\nCONF\ncat <<'SCRIPT' > /usr/local/bin/entrypoint\n#!/bin/sh\nexec \"$@\" --port $PORT\nSCRIPT\nchmod 0755 /usr/local/bin/entrypoint\n";
    let a = analyze(text, &[("PORT", "8080"), ("APP_HOME", "/srv/app")]);
    let writes: Vec<(String, Option<String>)> = a
        .effects()
        .filter_map(|(_, e)| match e {
            Effect::WriteFile { path, content, .. } => {
                Some((path.known()?.to_string(), content.clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        writes,
        vec![
            (
                "/etc/app.conf".to_string(),
                Some("listen = 8080\nhome = /srv/app\n".to_string())
            ),
            (
                "/usr/local/bin/entrypoint".into(),
                Some("#!/bin/sh\nexec \"$@\" --port $PORT\n".into())
            ),
        ]
    );
    assert!(a.opaque().next().is_none());
    insta::assert_yaml_snapshot!(render(text, &a));
}

#[test]
fn curl_download_verified_and_extracted() {
    let text = r#"curl -fsSLO --compressed "https://nodejs.org/dist/v$NODE_VERSION/node-v$NODE_VERSION-linux-x64.tar.xz" \
  && curl -fsSL -o SHASUMS256.txt "https://nodejs.org/dist/v$NODE_VERSION/SHASUMS256.txt" \
  && echo "$NODE_SHA256  node-v$NODE_VERSION-linux-x64.tar.xz" | sha256sum -c - \
  && grep " node-v$NODE_VERSION-linux-x64.tar.xz\$" SHASUMS256.txt | sha256sum -c - \
  && tar -xJf "node-v$NODE_VERSION-linux-x64.tar.xz" -C /usr/local --strip-components=1 --no-same-owner \
  && rm "node-v$NODE_VERSION-linux-x64.tar.xz" SHASUMS256.txt \
  && ln -s /usr/local/bin/node /usr/local/bin/nodejs"#;
    let sha = "f0b4c3fd9e4b9f4f5d7e1c9a0b4a1c7e1e0f2b9e2f8b7a6c5d4e3f2a1b0c9d8e";
    let a = analyze(text, &[("NODE_VERSION", "20.11.1"), ("NODE_SHA256", sha)]);
    let downloads: Vec<(String, String)> = a
        .effects()
        .filter_map(|(_, e)| match e {
            Effect::Download {
                url,
                dest: DownloadDest::File { path },
                ..
            } => Some((url.known()?.to_string(), path.known()?.to_string())),
            _ => None,
        })
        .collect();
    assert_eq!(
        downloads,
        vec![
            (
                "https://nodejs.org/dist/v20.11.1/node-v20.11.1-linux-x64.tar.xz".to_string(),
                "node-v20.11.1-linux-x64.tar.xz".to_string()
            ),
            (
                "https://nodejs.org/dist/v20.11.1/SHASUMS256.txt".into(),
                "SHASUMS256.txt".into()
            ),
        ]
    );
    let checks: Vec<&ChecksumList> = a
        .effects()
        .filter_map(|(_, e)| match e {
            Effect::VerifyChecksum { list, .. } => Some(list),
            _ => None,
        })
        .collect();
    assert_eq!(
        checks[0],
        &ChecksumList::Entries {
            entries: vec![ChecksumEntry {
                digest: sha.into(),
                path: "node-v20.11.1-linux-x64.tar.xz".into()
            }]
        }
    );
    // The grep output is not known: the list is unknown, not guessed.
    assert_eq!(checks[1], &ChecksumList::Unknown);
    insta::assert_yaml_snapshot!(render(text, &a));
}

#[test]
fn curl_piped_into_tar() {
    let text = "curl -fsSL https://github.com/jqlang/jq/releases/download/jq-1.7.1/jq-1.7.1.tar.gz | tar -xz -C /opt";
    let a = analyze(text, &[]);
    let e: Vec<&Effect> = a.effects().map(|(_, e)| e).collect();
    assert!(matches!(
        e[0],
        Effect::Download {
            dest: DownloadDest::Pipe,
            ..
        }
    ));
    assert!(matches!(
        e[1],
        Effect::Extract { archive: ArchiveSource::Download { url }, dest: Some(d), .. }
            if url.known() == Some("https://github.com/jqlang/jq/releases/download/jq-1.7.1/jq-1.7.1.tar.gz")
                && d.known() == Some("/opt")
    ));
    insta::assert_yaml_snapshot!(render(text, &a));
}

#[test]
fn curl_piped_into_sh_is_opaque() {
    let text = "curl -fsSL https://get.example.invalid/install.sh | sh -s -- --yes";
    let a = analyze(text, &[]);
    let reasons: Vec<String> = a
        .opaque()
        .map(|(_, e)| match e {
            Effect::Opaque { reason, .. } => reason.clone(),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(
        reasons,
        vec!["runs a script downloaded from https://get.example.invalid/install.sh".to_string()],
        "`sh -s -- ARGS` reads the script from stdin; the analysis must not run it"
    );
    insta::assert_yaml_snapshot!(render(text, &a));
}

#[test]
fn nix_npm_gem_dnf() {
    let cases: &[(&str, &str)] = &[
        (
            "nix",
            "nix-env -iA nixpkgs.hello nixpkgs.curl && nix-collect-garbage -d",
        ),
        (
            "nix_profile",
            "nix --extra-experimental-features 'nix-command flakes' profile install nixpkgs#hello",
        ),
        (
            "npm",
            "npm install -g pm2@5.3.0 typescript && npm cache clean --force",
        ),
        ("npm_ci", "npm ci --omit=dev && npm cache clean --force"),
        ("gem", "gem install bundler -v 2.4.22 --no-document"),
        (
            "microdnf",
            "microdnf install -y --nodocs --setopt=install_weak_deps=0 shadow-utils && microdnf clean all",
        ),
        (
            "yum",
            "yum install -y epel-release && yum clean all && rm -rf /var/cache/yum",
        ),
        (
            "pip_upgrade",
            "python3 -m pip install --no-cache-dir --upgrade pip setuptools wheel && pip install --user -e ./src",
        ),
    ];
    let mut failures = Vec::new();
    for (name, text) in cases {
        let a = analyze(text, &[]);
        if a.opaque().next().is_some() {
            failures.push(format!(
                "{name}: unexpected opaque command: {:?}",
                a.diagnostics
            ));
        }
        insta::assert_yaml_snapshot!(*name, render(text, &a));
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn exec_form() {
    let argv: Vec<String> = [
        "apt-get",
        "install",
        "-y",
        "--no-install-recommends",
        "curl",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let a = analyze_argv(&argv);
    let joined = argv.join(" ");
    match &a.commands[0].effects[0] {
        Effect::PackageInstall { packages, .. } => {
            assert_eq!(
                &joined[packages[0].span.start..packages[0].span.end],
                "curl"
            );
        }
        other => panic!("{other:?}"),
    }
    // Exec form: no shell, so `$HOME` is a literal word.
    let argv: Vec<String> = ["mkdir", "-p", "$HOME/x"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let a = analyze_argv(&argv);
    assert!(matches!(
        &a.commands[0].effects[0],
        Effect::MakeDir { paths, .. } if paths[0].known() == Some("$HOME/x")
    ));
    // `["sh", "-c", script]`: the script is analysed, spans inside it.
    let argv: Vec<String> = ["/bin/sh", "-c", "apt-get update && apt-get install -y $PKG"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let lookup = vars(&[("PKG", "curl")]);
    let a = analyze_argv_with(&argv, &lookup);
    let joined = argv.join(" ");
    let install = a
        .effects()
        .find_map(|(_, e)| match e {
            Effect::PackageInstall { packages, .. } => Some(packages.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(install[0].name, "curl");
    assert_eq!(&joined[install[0].span.start..install[0].span.end], "$PKG");
    insta::assert_yaml_snapshot!(render(&joined, &a));
}
