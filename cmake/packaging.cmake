# The Debian package: `cd build && cpack -G DEB` makes ferry_<version>_amd64.deb.
#
#   /usr/bin/ferry                          the proxy (install(TARGETS) in the top CMakeLists.txt)
#   /etc/ferry/ferry.yaml                   conffile: deploy/packaging/ferry.yaml, the seed layout
#                                           over plain HTTP (no certificate on a fresh install)
#   /etc/logrotate.d/ferry                  conffile: rotates /var/log/ferry/*.log, then SIGUSR1
#   /lib/systemd/system/ferry.service       the unit, run as the system user ferry
#   /lib/systemd/system/ferry.socket        socket activation, for administrators who enable it
#   /usr/share/doc/ferry/                   operations guide, Prometheus and Grafana examples
#
# postinst creates the ferry user and group and enables and starts the service (where systemd
# runs; on upgrade the running ferry hands over to the new binary with SIGUSR2, or restarts);
# prerm stops it on removal; postrm cleans up on purge. They live in deploy/packaging/.
# Runtime dependencies come from dpkg-shlibdeps (libuv1, libyaml-cpp0.7, libprometheus-cpp-core,
# libstdc++6, libc6), plus adduser for the user.
#
# The system files use absolute destinations, as a package needs them: `cmake --install` without
# DESTDIR writes them to /etc and /lib/systemd as well.

set(FERRY_PACKAGING_DIR ${CMAKE_SOURCE_DIR}/deploy/packaging)

install(FILES ${FERRY_PACKAGING_DIR}/ferry.yaml
        DESTINATION /etc/ferry
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
install(FILES ${FERRY_PACKAGING_DIR}/ferry.logrotate
        DESTINATION /etc/logrotate.d
        RENAME ferry
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
install(FILES ${CMAKE_SOURCE_DIR}/deploy/ferry.service ${CMAKE_SOURCE_DIR}/deploy/ferry.socket
        DESTINATION /lib/systemd/system
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
install(FILES ${CMAKE_SOURCE_DIR}/deploy/README-operations.md
              ${CMAKE_SOURCE_DIR}/deploy/prometheus.yml
        DESTINATION share/doc/ferry)
install(FILES ${CMAKE_SOURCE_DIR}/deploy/grafana/ferry-dashboard.json
        DESTINATION share/doc/ferry/grafana)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ferry)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "HTTP/1.1 reverse proxy and load balancer")
set(CPACK_PACKAGE_DESCRIPTION
    "ferry is a single event-loop process that proxies HTTP/1.1 to a set of backends with\n"
    "round-robin, weighted, least-outstanding, power-of-two and consistent-hash balancing,\n"
    "active health checks, keep-alive connection pools, strict request parsing, Prometheus\n"
    "metrics and an access log.")
string(JOIN "" CPACK_PACKAGE_DESCRIPTION ${CPACK_PACKAGE_DESCRIPTION})
set(FERRY_DEB_MAINTAINER "ferry maintainers <ferry@localhost>"
    CACHE STRING "Maintainer field of the Debian package")
set(CPACK_PACKAGE_CONTACT ${FERRY_DEB_MAINTAINER})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # ferry_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_MAINTAINER ${FERRY_DEB_MAINTAINER})
set(CPACK_DEBIAN_PACKAGE_SECTION httpd)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "logrotate")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "prometheus")
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)

# Maintainer scripts and the conffiles list; strict permissions make them 0755/0644 whatever
# the checkout's modes are.
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${FERRY_PACKAGING_DIR}/conffiles
    ${FERRY_PACKAGING_DIR}/postinst
    ${FERRY_PACKAGING_DIR}/prerm
    ${FERRY_PACKAGING_DIR}/postrm)

include(CPack)
