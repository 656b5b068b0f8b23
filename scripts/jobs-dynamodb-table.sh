#!/usr/bin/env bash
# Creates the DynamoDB table of the job store (docs/jobs.md, "The DynamoDB
# store") with the AWS CLI and enables its TTL on "expires":
#
#   bash scripts/jobs-dynamodb-table.sh TABLE [aws dynamodb options...]
#
# e.g. --region eu-west-1, or --endpoint-url http://127.0.0.1:8000 for a
# local DynamoDB-compatible server.  On-demand capacity (PAY_PER_REQUEST).
# A server without TTL (dynalite) is told so and the table kept: the store
# skips expired jobs on read.
set -euo pipefail

if [ $# -lt 1 ]; then
    echo "usage: $0 TABLE [aws dynamodb options...]" >&2
    exit 2
fi

table=$1
shift
aws=${AWS_CLI:-/usr/bin/aws}

"$aws" dynamodb create-table "$@" \
    --table-name "$table" \
    --billing-mode PAY_PER_REQUEST \
    --attribute-definitions \
        AttributeName=tenant,AttributeType=S \
        AttributeName=sk,AttributeType=S \
        AttributeName=ord,AttributeType=S \
        AttributeName=act,AttributeType=S \
        AttributeName=due,AttributeType=N \
    --key-schema AttributeName=tenant,KeyType=HASH \
        AttributeName=sk,KeyType=RANGE \
    --local-secondary-indexes \
        'IndexName=by_created,KeySchema=[{AttributeName=tenant,KeyType=HASH},{AttributeName=ord,KeyType=RANGE}],Projection={ProjectionType=ALL}' \
    --global-secondary-indexes \
        'IndexName=due,KeySchema=[{AttributeName=act,KeyType=HASH},{AttributeName=due,KeyType=RANGE}],Projection={ProjectionType=ALL}' \
    > /dev/null

"$aws" dynamodb wait table-exists "$@" --table-name "$table"

if ! "$aws" dynamodb update-time-to-live "$@" --table-name "$table" \
        --time-to-live-specification Enabled=true,AttributeName=expires \
        --query TimeToLiveSpecification.AttributeName --output text \
        2>/dev/null
then
    echo "$0: this server has no TTL: expired jobs are skipped on read" >&2
fi
