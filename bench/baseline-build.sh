#!/bin/sh
# Baseline for bench/generate-manifests.bench.ts: the steps of Bedrock's build.sh manifest
# generation, scripted: a serial `helm template` loop (values already merged per environment),
# static manifests copied, then clone the manifest repo, copy generated/* over it, commit, push.
# Usage: baseline-build.sh PLAN_FILE WORK_DIR MANIFEST_URL HELM
# PLAN_FILE lines: "helm ENV NAME CHART_DIR VALUES_FILE NAMESPACE" or "static ENV NAME SOURCE_DIR".
# git auth comes from GIT_CONFIG_* variables in the environment (never the URL).
set -eu
plan=$1 work=$2 url=$3 helm=$4
rm -rf "$work/generated" "$work/manifests"
mkdir -p "$work/generated"
while read -r kind env name a b c; do
  mkdir -p "$work/generated/$env"
  if [ "$kind" = helm ]; then
    "$helm" template "$name" "$a" --values "$b" --namespace "$c" > "$work/generated/$env/$name.yaml"
  else
    for f in "$a"/*; do printf -- '---\n'; cat "$f"; done > "$work/generated/$env/$name.yaml"
  fi
done < "$plan"
git clone --quiet --depth 1 --branch main "$url" "$work/manifests"
cp -R "$work/generated/." "$work/manifests/"
cd "$work/manifests"
git add -A
if git diff --cached --quiet; then echo "no changes"; exit 0; fi
git -c user.name=baseline -c user.email=baseline@example.com commit --quiet -m "Updated k8s manifest files post commit"
git push --quiet origin HEAD:main
