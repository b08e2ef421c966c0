#!/bin/sh
# Regenerates the test stores with Java 17's keytool (password: changeit).
# server.* hold the same self-signed key; trust.* trust its certificate;
# other.jks is an unrelated key a client must refuse.
set -e
cd "$(dirname "$0")"
rm -f *.jks *.p12 *.pem *.crt
kt() { keytool "$@" -storepass changeit -noprompt >/dev/null 2>&1; }
kt -genkeypair -alias server -keyalg RSA -keysize 2048 -validity 36500 \
   -dname "CN=localhost, O=Sluice test" -ext san=dns:localhost,ip:127.0.0.1 \
   -keystore server.jks -storetype JKS -keypass changeit
kt -importkeystore -srckeystore server.jks -srcstoretype JKS -srcstorepass changeit \
   -destkeystore server.p12 -deststoretype PKCS12 -deststorepass changeit
kt -exportcert -alias server -keystore server.jks -rfc -file server.crt
kt -importcert -alias server -file server.crt -keystore trust.jks -storetype JKS
kt -importcert -alias server -file server.crt -keystore trust.p12 -storetype PKCS12
kt -genkeypair -alias other -keyalg EC -validity 36500 -dname "CN=other" \
   -keystore other.jks -storetype JKS -keypass changeit
# PEM key store: the certificate and the unencrypted key in one file.
openssl pkcs12 -in server.p12 -passin pass:changeit -nodes -out server.pem 2>/dev/null
