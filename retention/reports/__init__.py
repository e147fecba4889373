"""What marketers read without SQL: pictures, a static segment report and consent-aware CSV exports."""
