# shellcheck shell=bash
# The ferry binary the ferry instances install: uploaded to a private S3 bucket (or given as
# FERRY_ARTIFACT_URL), and the presigned URL and SHA-256 the user-data gets.

bucket_name() { echo "${FERRY_ARTIFACT_BUCKET:-ferry-aws-$VPC_ID}"; }

# ARTIFACT_URL and ARTIFACT_SHA: what the ferry user-data fetches and checks (set by ensure_artifact).
ARTIFACT_URL="" ARTIFACT_SHA=""
binary_path() {
  if [[ $FERRY_BINARY == /* ]]; then echo "$FERRY_BINARY"; else echo "$FERRY_REPO_DIR/$FERRY_BINARY"; fi
}
require_binary() {
  if [[ -n $FERRY_ARTIFACT_URL ]]; then
    [[ -n $FERRY_ARTIFACT_SHA256 ]] || die "$EXIT_MISSING" "FERRY_ARTIFACT_URL needs FERRY_ARTIFACT_SHA256 too. Nothing was changed."
    return
  fi
  local bin
  bin=$(binary_path)
  [[ -x $bin ]] || die "$EXIT_MISSING" "ferry binary $bin not found: build it first (cmake -S . -B build" \
    "-DCMAKE_BUILD_TYPE=Release && cmake --build build -j) or set FERRY_BINARY. Nothing was changed."
}
ensure_artifact() {
  if [[ -n $FERRY_ARTIFACT_URL ]]; then
    ARTIFACT_URL=$FERRY_ARTIFACT_URL ARTIFACT_SHA=$FERRY_ARTIFACT_SHA256
    step ok "ferry binary from $ARTIFACT_URL"
    return
  fi
  local bin bucket key
  bin=$(binary_path)
  ARTIFACT_SHA=$(sha256sum "$bin" | cut -d' ' -f1)
  bucket=$(bucket_name)
  key=ferry/$ARTIFACT_SHA/ferry
  AWS_EXPECT="404 NoSuchBucket NotFound" fetch bucket s3api head-bucket --bucket "$bucket"
  AWS_EXPECT="404 NoSuchKey NoSuchBucket NotFound" fetch object s3api head-object --bucket "$bucket" --key "$key"
  fetch_wait
  if [[ $(js bucket '. != null') == true ]]; then
    step ok "S3 bucket $bucket"
  else
    local loc=()
    [[ $FERRY_REGION == us-east-1 ]] || loc=(--create-bucket-configuration "LocationConstraint=$FERRY_REGION")
    act create "S3 bucket $bucket (private; holds the ferry binary)" \
      aws_cli s3api create-bucket --bucket "$bucket" "${loc[@]}"
    # (new buckets block public access by default)
    act tag "S3 bucket $bucket" aws_cli s3api put-bucket-tagging --bucket "$bucket" \
      --tagging "$(jq -cn --argjson t "$(tag_list "$bucket")" '{TagSet: $t}')"
  fi
  if [[ $(js object '. != null') == true ]]; then
    step ok "ferry binary s3://$bucket/$key"
  else
    act upload "ferry binary to s3://$bucket/$key" aws_cli s3api put-object --bucket "$bucket" --key "$key" \
      --body "$bin" --tagging "$FERRY_TAG_KEY=$FERRY_TAG_VALUE"
  fi
  # A presigned URL (computed locally, valid 7 days): the instance needs no S3 permission.
  if ! ((DRY_RUN)); then ARTIFACT_URL=$(aws_cli s3 presign "s3://$bucket/$key" --expires-in 604800); fi
}
