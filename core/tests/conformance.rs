//! The storage conformance suite on core's own stores.

use axon_core::storage::conformance::*;
use axon_core::storage::crash::SimDisk;
use axon_core::storage::{LogFile, MemLogFile, MemPageStore, PageStore};

#[test]
fn memory_stores_conform() {
    page_store_suite(&mut || Box::new(MemPageStore::new(1024)) as Box<dyn PageStore>);
    page_store_suite(&mut || Box::new(MemPageStore::new(8192)) as Box<dyn PageStore>);
    log_file_suite(&mut || Box::new(MemLogFile::new()) as Box<dyn LogFile>);
}

#[test]
fn simulated_disk_conforms_and_keeps_synced_data_across_reboots() {
    page_store_suite(&mut || SimDisk::new(4096).storage().pages);
    log_file_suite(&mut || {
        let [a, _] = SimDisk::new(4096).storage().logs;
        a
    });
    // "Reopen" = a power cut and reboot: synced data must survive it.
    let mut disk = SimDisk::new(4096);
    page_store_reopen_suite(&mut || {
        disk = disk.reboot(1);
        disk.storage().pages
    });
    let mut disk = SimDisk::new(4096);
    log_file_reopen_suite(&mut || {
        disk = disk.reboot(2);
        let [a, _] = disk.storage().logs;
        a
    });
}
