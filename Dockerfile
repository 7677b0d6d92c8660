# A small static image: the server built with CGO_ENABLED=0 on distroless
# "static" (no shell, no libc), running as the non-root user 65532.
#   docker build -t ice-rest-catalog .
# The config comes from a mounted file ($ICE_REST_CATALOG_CONFIG) or from
# $ICE_REST_CATALOG_CONFIG_YAML; see docs/kubernetes.md.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/ice-rest-catalog ./cmd/ice-rest-catalog

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ice-rest-catalog /usr/local/bin/ice-rest-catalog
USER 65532:65532
# The embedded default (no config) keeps its data in ./data: writable here.
WORKDIR /home/nonroot
EXPOSE 5000 5001
ENTRYPOINT ["/usr/local/bin/ice-rest-catalog"]
