package io.gokafka.javaclient;

import org.apache.kafka.clients.admin.Admin;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** A test class that shares one Admin client across its tests. */
abstract class WithAdmin {
    static Admin admin;

    @BeforeAll
    static void openAdmin() {
        admin = Gokafka.admin();
    }

    @AfterAll
    static void closeAdmin() {
        admin.close();
    }
}
