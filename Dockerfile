# For teams that build with Docker; `make image` builds the same image
# without a daemon. docker buildx build --platform linux/amd64,linux/arm64 .
FROM --platform=$BUILDPLATFORM golang:1.26.8 AS build
ARG TARGETOS TARGETARCH VERSION=devel COMMIT= DATE=
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY api api
COPY cmd cmd
COPY controllers controllers
COPY internal internal
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath \
    -ldflags "-s -w -X github.com/driftless-dev/driftless/internal/version.Version=$VERSION -X github.com/driftless-dev/driftless/internal/version.Commit=$COMMIT -X github.com/driftless-dev/driftless/internal/version.Date=$DATE" \
    -o /manager ./cmd/manager

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /manager /manager
USER 65532:65532
ENTRYPOINT ["/manager"]
